"""Every write of the tracking app: clicks, attribution of signups, daily rollups."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from affiliates.emails import canonical_domain, canonical_mailbox, registrable_domain
from affiliates.models import Affiliate, Coupon
from affiliates.selectors import ResolvedAffiliate, resolve_username, resolve_username_memoised
from config.errors import Conflict, ServiceError
from tracking import clicks, links
from tracking.models import (
    Click,
    DailyPathStat,
    DailyReferrerStat,
    DailyStat,
    DailyStatMoneyDue,
    Referral,
)

log = logging.getLogger(__name__)

# --- clicks ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClickOutcome:
    """What the redirect (or the click API) does with one click."""

    affiliate: ResolvedAffiliate | None  # None: unknown, or not approved (suspended…)
    click_id: int | None  # None when nothing was recorded
    reason: str  # "" when honoured; ad_param / ad_referrer / bot / unknown

    @property
    def honoured(self) -> bool:
        return self.affiliate is not None and not self.reason


def record_click(
    *,
    username: str,
    landing_path: str,
    params: list[tuple[str, str]],
    referrer: str,
    user_agent: str,
    ip: str,
    now: datetime,
) -> ClickOutcome:
    """Classify one click and record it. Honoured clicks and rejected (ad, bot) clicks of an
    approved affiliate are recorded; unknown names and affiliates that are not approved are
    not recorded at all (random 404 paths would otherwise fill the table).

    No database query on the hot path: the resolver is cached and the write goes to the
    Redis buffer (see tracking.clicks)."""
    name = links.normalise_username(username)
    unknown = ClickOutcome(affiliate=None, click_id=None, reason="unknown")
    if not name:
        return unknown
    reason = links.ad_reason(params, referrer)
    bot = links.is_bot(user_agent)
    if not reason and bot:
        reason = "bot"
    domain = links.referrer_domain(referrer)
    row = {
        "at": now,
        "landing_path": landing_path[:500],
        "referrer_domain": domain,
        "medium": links.medium_for(domain),
        "device": "bot" if bot else links.device_for(user_agent),
        "visitor_hash": links.visitor_hash(ip=ip, user_agent=user_agent, day=now.date()),
        "honoured": not reason,
        "reason": reason,
    }
    if clicks.buffered():
        # One Redis call resolves and records (see tracking.clicks.resolve_and_write); the
        # slow path below runs only for a name nobody resolved in this generation yet, or a
        # missing id counter.
        answered, resolved, click_id = clicks.resolve_and_write(name=name, row=row)
        if answered and (resolved is None or not resolved.is_approved):
            return unknown
        if click_id is not None:
            return ClickOutcome(affiliate=resolved, click_id=click_id, reason=reason)
    for _ in range(3):
        resolved, generation = _resolve_for_click(name)
        if resolved is None or not resolved.is_approved:
            return unknown
        click_id = clicks.write_click({**row, "affiliate_id": resolved.id}, generation=generation)
        if click_id is not None:
            return ClickOutcome(affiliate=resolved, click_id=click_id, reason=reason)
        # A username or status changed since this process memoised the answer: nothing was
        # written; refresh the memo and try again.
        resolve_username(name)
    return unknown


def _resolve_for_click(name: str) -> tuple[ResolvedAffiliate | None, str | None]:
    """With the Redis buffer: the memoised answer and its generation (checked by the click
    write itself, so no round trip here). A negative answer is never trusted from the memo,
    since no write will check it: it is re-validated (one GET). Without the buffer: the
    always-current resolver."""
    if clicks.buffered():
        resolved, generation = resolve_username_memoised(name)
        if resolved is not None and resolved.is_approved:
            return resolved, generation
    return resolve_username(name), None


def flush_clicks() -> int:
    return clicks.flush_clicks()


# --- attribution -----------------------------------------------------------------------


@dataclass
class _Candidate:
    source: str
    affiliate: Affiliate
    evidence: str  # "coupon SAVE10 of alice"
    click_id: int | None = None
    cookie_set_at: datetime | None = None
    coupon: Coupon | None = None


@dataclass
class _Evidence:
    candidates: list[_Candidate] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def _free_mail(domain: str) -> bool:
    """A provider anyone can get an address at (settings.WEBMAIL_DOMAINS, by the domain or
    its registrable part: mail.yahoo.com is yahoo.com)."""
    webmail = {canonical_domain("x@" + d) for d in settings.WEBMAIL_DOMAINS if d.strip()}
    return domain in webmail or registrable_domain(domain) in webmail


def self_referral_reason(*, customer_email: str, affiliate: Affiliate) -> str:
    """Words saying why crediting `affiliate` (an affiliate or an employee) with this customer
    would be a self-referral, or '' when it is not.

    - The same mailbox, however spelled (affiliates.emails.canonical_mailbox: case, `+tags`,
      Gmail's dots, googlemail.com): always.
    - The same organisation: both addresses under one registrable domain (Public Suffix List:
      boss@sub.example.com and alice@example.com are one company) — colleagues at one company
      are one buyer, and a company signing itself up through its own employee's link is not
      new business. Not on a free-mail provider (settings.WEBMAIL_DOMAINS): two gmail users
      are two people, so there only the same mailbox counts.
    """
    customer = canonical_mailbox(customer_email)
    own = canonical_mailbox(affiliate.user.email)
    if not customer or not own:
        return ""
    if customer == own:
        return (
            f"self-referral: the customer's e-mail {customer_email.strip().lower()} is "
            f"{affiliate.username}'s own mailbox"
        )
    domain = registrable_domain(canonical_domain(customer))
    same_org = domain and domain == registrable_domain(canonical_domain(own))
    if same_org and not _free_mail(canonical_domain(customer)):
        return (
            f"self-referral: the customer's e-mail domain {domain} is {affiliate.username}'s "
            "organisation"
        )
    return ""


def _parse_click_cookie(value: str | None) -> tuple[int | None, datetime | None]:
    """`referral_click` = "<click id>.<unix time the cookie was set>"."""
    if not value:
        return None, None
    raw_id, _, raw_ts = value.partition(".")
    try:
        click_id = int(raw_id)
        set_at = datetime.fromtimestamp(int(raw_ts), tz=UTC) if raw_ts else None
    except (ValueError, OverflowError, OSError):
        return None, None
    return (click_id if click_id > 0 else None), set_at


def _gather(
    *, coupon: str | None, referral: str | None, referral_click: str | None, referred_by: str | None
) -> _Evidence:
    """Candidates in precedence order: coupon > cookie > declared.

    A coupon is the strongest evidence (the customer typed it at checkout, after any click);
    the cookie is a recorded click; a declared "who referred you?" name is the weakest. An
    unusable piece (unknown, inactive, not approved) is skipped with a note, and the next
    one is tried."""
    ev = _Evidence()
    if coupon:
        found = (
            Coupon.objects.select_related("affiliate__user")
            .filter(code__iexact=coupon.strip())
            .first()
        )
        if found is None:
            ev.ignored.append(f"coupon {coupon} is unknown")
        elif not found.is_active:
            ev.ignored.append(f"coupon {found.code} is inactive")
        else:
            ev.candidates.append(
                _Candidate(
                    "coupon",
                    found.affiliate,
                    f"coupon {found.code} of {found.affiliate.username}",
                    coupon=found,
                )
            )
    if referral:
        aff = Affiliate.objects.select_related("user").filter(public_id=referral.strip()).first()
        if aff is None:
            ev.ignored.append("the referral cookie names no affiliate")
        else:
            click_id, set_at = _parse_click_cookie(referral_click)
            click = Click.objects.filter(pk=click_id, affiliate=aff).first() if click_id else None
            if click is not None:
                set_at = click.at
                words = (
                    f"cookie from click {click.pk} on {click.at:%Y-%m-%d} via "
                    f"{click.landing_path}{aff.username}"
                )
            elif click_id:
                # The click may still sit in the Redis buffer (flushed every 2 s).
                words = f"cookie from click {click_id} of {aff.username}"
                if set_at:
                    words += f" on {set_at:%Y-%m-%d}"
            else:
                words = f"referral cookie of {aff.username}"
            ev.candidates.append(
                _Candidate("cookie", aff, words, click_id=click_id, cookie_set_at=set_at)
            )
    if referred_by:
        name = referred_by.strip().lower()
        resolved = resolve_username(name)
        aff = (
            Affiliate.objects.select_related("user").filter(pk=resolved.id).first()
            if resolved
            else Affiliate.objects.select_related("user").filter(public_id=referred_by).first()
        )
        if aff is None:
            ev.ignored.append(f"declared referrer {referred_by} is unknown")
        else:
            ev.candidates.append(
                _Candidate("declared", aff, f"declared by the customer: {aff.username}")
            )
    return ev


def _resolve_employee(name: str) -> Affiliate:
    raw = name.strip()
    aff = (
        Affiliate.objects.select_related("user")
        .filter(Q(username=raw.lower()) | Q(public_id=raw))
        .filter(is_employee=True, status=Affiliate.Status.APPROVED, user__is_active=True)
        .first()
    )
    if aff is None:
        raise ServiceError(
            f"{name} is not an approved employee affiliate.",
            fields={"employee": ["Not an approved employee affiliate."]},
        )
    return aff


def _employee_self_referral(emp: Affiliate | None, customer_email: str) -> str:
    """An employee is never credited for its own account (or its own organisation's, the
    same rule as affiliates: self_referral_reason). '' when `emp` may be credited."""
    if emp is None:
        return ""
    reason = self_referral_reason(customer_email=customer_email, affiliate=emp)
    return f"employee {emp.username} not credited: {reason}" if reason else ""


def _enqueue_signup_commission(referral_id: int) -> None:
    # By task name: tracking must not import commissions (dependency direction). A broker
    # outage must never fail a signup; the commissions sweeper catches missed ones.
    try:
        from celery import current_app

        current_app.send_task(
            "commissions.record_signup_commission", kwargs={"referral_id": referral_id}
        )
    except Exception:
        log.exception("could not enqueue the signup commission of referral %s", referral_id)


def _add_later_facts(
    referral: Referral,
    *,
    employee: str | None,
    stripe_customer_id: str | None,
    now: datetime,
) -> Referral:
    """A repeat call keeps the first answer; it may only add what was not known yet: the
    employee named at upgrade and the Stripe customer id."""
    changed: list[str] = []
    emp = _resolve_employee(employee) if employee and referral.employee_id is None else None
    emp_note = _employee_self_referral(emp, referral.email)
    if emp_note:
        # Not credited, and the trail says why (once: a retried call adds nothing).
        if emp_note not in referral.why:
            referral.why = f"{referral.why}; {emp_note}" if referral.why else emp_note
            changed.append("why")
    elif emp is not None:
        referral.employee, referral.employee_at = emp, now
        changed += ["employee", "employee_at"]
        if referral.affiliate_id is None:
            referral.source = Referral.Source.EMPLOYEE
            referral.why = f"employee {emp.username} named at upgrade on {now:%Y-%m-%d}; " + (
                referral.why
            )
            changed += ["source", "why"]
    if stripe_customer_id and not referral.stripe_customer_id:
        if Referral.objects.filter(stripe_customer_id=stripe_customer_id).exists():
            raise Conflict(
                f"Stripe customer {stripe_customer_id} is already linked to another customer.",
                fields={"stripe_customer_id": ["Already linked to another customer."]},
            )
        referral.stripe_customer_id = stripe_customer_id
        changed.append("stripe_customer_id")
    if changed:
        try:
            with transaction.atomic():
                referral.save(update_fields=changed)
        except IntegrityError:
            # Another customer took this Stripe id between the check above and the save.
            raise _stripe_customer_taken(stripe_customer_id) from None
    return referral


def _stripe_customer_taken(stripe_customer_id: str | None) -> Conflict:
    return Conflict(
        f"Stripe customer {stripe_customer_id} is already linked to another customer.",
        fields={"stripe_customer_id": ["Already linked to another customer."]},
    )


def attribute_signup(
    *,
    customer_id: str,
    email: str,
    referral: str | None = None,
    referral_click: str | None = None,
    coupon: str | None = None,
    referred_by: str | None = None,
    employee: str | None = None,
    stripe_customer_id: str | None = None,
    plan: str | None = None,
    now: datetime,
) -> Referral:
    """Credit a new customer to an affiliate; first referrer wins.

    Precedence when several pieces of evidence are present: **coupon > cookie > declared**
    (see `_gather`). A piece naming an affiliate that is not approved, or a self-referral
    (same e-mail, or same non-webmail domain), is not credited and the next piece is tried.
    The first call for a customer decides: a repeat call returns the same referral (its
    `created` attribute is False) and may only add the employee named at upgrade and the
    Stripe customer id. `referral` is the `referral` cookie's value (the affiliate's public
    id); `referral_click` the `referral_click` cookie's value, naming the click.
    """
    customer_id = (customer_id or "").strip()
    if not customer_id or len(customer_id) > 200:
        raise ServiceError(
            "customer_id is required (at most 200 characters).",
            fields={"customer_id": ["Required, at most 200 characters."]},
        )
    existing = Referral.objects.filter(customer_id=customer_id).first()
    if existing is not None:
        with transaction.atomic():
            result = _add_later_facts(
                existing, employee=employee, stripe_customer_id=stripe_customer_id, now=now
            )
        result.created = False
        return result

    emp = _resolve_employee(employee) if employee else None
    emp_note = _employee_self_referral(emp, email)
    if emp_note:
        emp = None
    if (
        stripe_customer_id
        and Referral.objects.filter(stripe_customer_id=stripe_customer_id).exists()
    ):
        raise Conflict(
            f"Stripe customer {stripe_customer_id} is already linked to another customer.",
            fields={"stripe_customer_id": ["Already linked to another customer."]},
        )
    ev = _gather(
        coupon=coupon, referral=referral, referral_click=referral_click, referred_by=referred_by
    )
    chosen: _Candidate | None = None
    notes = list(ev.ignored) + ([emp_note] if emp_note else [])
    for cand in ev.candidates:
        if not cand.affiliate.is_approved:
            notes.append(f"{cand.evidence}: {cand.affiliate.username} is {cand.affiliate.status}")
            continue
        if not cand.affiliate.user.is_active:
            # A deactivated account's links are not honoured (the redirect ignores them too).
            notes.append(f"{cand.evidence}: {cand.affiliate.username}'s account is deactivated")
            continue
        self_ref = self_referral_reason(customer_email=email, affiliate=cand.affiliate)
        if self_ref:
            notes.append(f"{cand.evidence}: {self_ref}")
            continue
        chosen = cand
        break

    if chosen is not None:
        source, why = chosen.source, f"credited {chosen.affiliate.username} by {chosen.evidence}"
    elif emp is not None:
        source, why = Referral.Source.EMPLOYEE, f"employee {emp.username} named at signup"
    else:
        source, why = Referral.Source.NONE, "not attributed"
        if not notes:
            notes.append("no referral evidence")
    if notes:
        why += " (" + "; ".join(notes) + ")"

    row = Referral(
        customer_id=customer_id,
        email=(email or "").strip().lower(),
        affiliate=chosen.affiliate if chosen else None,
        source=source,
        why=why,
        click_id=chosen.click_id if chosen else None,
        cookie_set_at=chosen.cookie_set_at if chosen else None,
        coupon=chosen.coupon if chosen else None,
        employee=emp,
        employee_at=now if emp else None,
        stripe_customer_id=stripe_customer_id or None,
        plan=(plan or "")[:80],
        created_at=now,
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
            if row.affiliate_id is not None:
                pk = row.pk
                transaction.on_commit(lambda: _enqueue_signup_commission(pk))
    except IntegrityError:
        # A concurrent call for the same customer won the race: its answer stands.
        winner = Referral.objects.filter(customer_id=customer_id).first()
        if winner is not None:
            winner.created = False
            return winner
        # Otherwise the unique column that refused us is stripe_customer_id: two new
        # customers sent at once with the same Stripe customer. Decision: the same 409 as
        # when they come one after the other — a Stripe customer pays for one product
        # customer, and merging them (an upsert) would credit one customer's payments to the
        # other's affiliate. The first insert stands; the caller sees which field clashed.
        if (
            stripe_customer_id
            and Referral.objects.filter(stripe_customer_id=stripe_customer_id).exists()
        ):
            raise _stripe_customer_taken(stripe_customer_id) from None
        raise
    row.created = True
    return row


# --- rollups ---------------------------------------------------------------------------


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def refresh_rollups_for_day(day: date) -> int:
    """Recompute one UTC day's click and signup columns from the raw rows (GROUP BY + upsert).
    Idempotent; the money columns are left as they are. Returns rows upserted.

    Unique clicks: distinct visitor hashes per affiliate per UTC day; the hash salt rotates
    daily, so "the same visitor within 24 h" is counted within the same UTC day."""
    start, end = _day_bounds(day)
    day_clicks = Click.objects.filter(at__gte=start, at__lt=end)
    honoured = Q(honoured=True)
    stats: dict[int, dict] = {}
    for row in day_clicks.values("affiliate_id").annotate(
        c=Count("id", filter=honoured),
        u=Count("visitor_hash", filter=honoured, distinct=True),
        r=Count("id", filter=Q(honoured=False)),
    ):
        stats[row["affiliate_id"]] = {
            "clicks": row["c"],
            "unique_clicks": row["u"],
            "rejected_clicks": row["r"],
        }
    signups = (
        Referral.objects.filter(created_at__gte=start, created_at__lt=end, affiliate__isnull=False)
        .values("affiliate_id")
        .annotate(n=Count("id"))
    )
    for row in signups:
        stats.setdefault(row["affiliate_id"], {})["signups"] = row["n"]
    columns = ["clicks", "unique_clicks", "rejected_clicks", "signups"]
    DailyStat.objects.bulk_create(
        [
            DailyStat(affiliate_id=aff, day=day, **{c: v.get(c, 0) for c in columns})
            for aff, v in stats.items()
        ],
        update_conflicts=True,
        unique_fields=["affiliate", "day"],
        update_fields=columns,
        batch_size=1000,
    )

    # Signups per landing path / referrer domain: through the click the cookie named.
    signup_clicks = dict(
        Referral.objects.filter(
            created_at__gte=start,
            created_at__lt=end,
            affiliate__isnull=False,
            click_id__isnull=False,
        ).values_list("click_id", "affiliate_id")
    )
    by_path: Counter = Counter()
    by_domain: Counter = Counter()
    for click_id, aff, path, domain in Click.objects.filter(pk__in=list(signup_clicks)).values_list(
        "pk", "affiliate_id", "landing_path", "referrer_domain"
    ):
        if signup_clicks.get(click_id) == aff:
            by_path[(aff, path)] += 1
            by_domain[(aff, domain)] += 1

    for model, column, counter in (
        (DailyPathStat, "landing_path", by_path),
        (DailyReferrerStat, "referrer_domain", by_domain),
    ):
        key = "path" if model is DailyPathStat else "domain"
        rows = {
            (r["affiliate_id"], r[column]): r
            for r in day_clicks.filter(honoured)
            .values("affiliate_id", column)
            .annotate(c=Count("id"), u=Count("visitor_hash", distinct=True))
        }
        objs = []
        for ident in set(rows) | set(counter):
            r = rows.get(ident, {"c": 0, "u": 0})
            objs.append(
                model(
                    affiliate_id=ident[0],
                    day=day,
                    **{key: ident[1]},
                    clicks=r["c"],
                    unique_clicks=r["u"],
                    signups=counter.get(ident, 0),
                )
            )
        model.objects.bulk_create(
            objs,
            update_conflicts=True,
            unique_fields=["affiliate", "day", key],
            update_fields=["clicks", "unique_clicks", "signups"],
            batch_size=1000,
        )
    return len(stats)


def refresh_rollups(*, now: datetime, days: int = 2) -> int:
    """Today's and yesterday's rollups (beat, every 30 s): dashboards lag < 1 minute."""
    today = now.astimezone(UTC).date()
    return sum(refresh_rollups_for_day(today - timedelta(days=i)) for i in range(days))


def set_daily_money(*, rows: list[tuple[int, date, int, int, int]]) -> int:
    """Upsert the money columns written by the commissions app: each row is
    (affiliate_id, day, first_payments, revenue, commission), money in minor units of the
    program currency. Click and signup columns are left alone."""
    objs = [
        DailyStat(
            affiliate_id=aff, day=day, first_payments=fp, revenue=revenue, commission=commission
        )
        for aff, day, fp, revenue, commission in rows
    ]
    DailyStat.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=["affiliate", "day"],
        update_fields=["first_payments", "revenue", "commission"],
        batch_size=1000,
    )
    return len(objs)


# A `compute` callback of refresh_due_daily_money: the money of the given (affiliate, day)
# pairs as set_daily_money rows. Supplied by the commissions app (tracking must not import it).
MoneyRows = Callable[[set[tuple[int, date]]], list[tuple[int, date, int, int, int]]]

# Arbitrary constant naming the PostgreSQL advisory lock of the money refresh (held to commit).
MONEY_REFRESH_LOCK_KEY = 7_411_020_002


def mark_daily_money_due(*, pairs: Iterable[tuple[int | None, date]]) -> int:
    """Mark (affiliate, UTC day) rollups whose money changed, in the caller's transaction:
    the mark commits (or rolls back) with the change itself, so no change is ever missed
    and none is announced that did not happen. Pairs without an affiliate are ignored."""
    due = {(a, d) for a, d in pairs if a is not None}
    DailyStatMoneyDue.objects.bulk_create(
        [DailyStatMoneyDue(affiliate_id=a, day=d) for a, d in sorted(due)], batch_size=1000
    )
    return len(due)


def refresh_due_daily_money(*, compute: MoneyRows, limit: int = 5000) -> tuple[int, bool]:
    """Recompute the money columns of up to `limit` marked (affiliate, day) rollups, in one
    transaction, and clear exactly the marks it read: a mark committed meanwhile (even one
    with a lower id, its transaction having started earlier) stays for the next run, and
    the recompute reads every change whose mark it read (the mark commits with its change).
    Runs are serialised (PostgreSQL advisory lock; SQLite has one writer): two runs
    interleaving could otherwise write an older recompute over a newer one. Returns
    (pairs written, more marks may be waiting)."""
    from django.db import connection

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [MONEY_REFRESH_LOCK_KEY])
                if not cursor.fetchone()[0]:
                    return 0, False  # another run is at it; what it misses stays marked
        marks = list(
            DailyStatMoneyDue.objects.order_by("pk").values_list("pk", "affiliate_id", "day")[
                :limit
            ]
        )
        if not marks:
            return 0, False
        pairs = {(a, d) for _, a, d in marks}
        rows = {(a, d): (fp, rev, com) for a, d, fp, rev, com in compute(pairs)}
        # A marked day with no money left (e.g. its only entry declined) is written as zeros.
        set_daily_money(
            rows=[(a, d, *rows.get((a, d), (0, 0, 0))) for a, d in sorted(pairs | set(rows))]
        )
        ids = [pk for pk, _, _ in marks]
        for i in range(0, len(ids), 1000):
            DailyStatMoneyDue.objects.filter(pk__in=ids[i : i + 1000]).delete()
        return len(pairs), len(marks) == limit
