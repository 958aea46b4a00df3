"""Attribution of a new customer to the affiliate who referred it (first referrer wins), and
the self-referral rule shared with employees.

The evidence (coupon, referral cookie, declared name) is read through tracking.selectors;
a new attribution queues its signup commission by task name (config.queue), since tracking
must not import commissions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from affiliates import selectors as affiliates_selectors
from affiliates.emails import canonical_domain, canonical_mailbox, registrable_domain
from affiliates.models import Affiliate, Coupon
from config.errors import Conflict, NotFound, ServiceError
from config.queue import enqueue_on_commit
from tracking import links, selectors
from tracking.models import ClaimCode, Referral, ReferralStatDue
from tracking.services import claim_codes
from tracking.webhook_events import emit_referral_created


@dataclass
class _Candidate:
    source: str
    affiliate: Affiliate
    evidence: str  # "coupon SAVE10 of alice"
    click_id: int | None = None
    cookie_set_at: datetime | None = None
    coupon: Coupon | None = None
    via_code: bool = False  # a claim code from the app (referral_code), not the cookie itself


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


def candidate_refusal(affiliate: Affiliate, *, customer_email: str) -> str:
    """Why `affiliate` may not be credited with this customer ('' when it may): not
    approved, a deactivated account (the redirect ignores its links too), or a
    self-referral. The rules of every attribution: signups, late claims, Stripe coupons."""
    if not affiliate.is_approved:
        return f"{affiliate.username} is {affiliate.status}"
    if not affiliate.user.is_active:
        return f"{affiliate.username}'s account is deactivated"
    return self_referral_reason(customer_email=customer_email, affiliate=affiliate)


def _gather(
    *,
    coupon: str | None,
    referral: str | None,
    referral_click: str | None,
    referred_by: str | None,
    claim: ClaimCode | None = None,
) -> _Evidence:
    """Candidates in precedence order: coupon > cookie > declared.

    A coupon is the strongest evidence (the customer typed it at checkout, after any click);
    the cookie is a recorded click; a declared "who referred you?" name is the weakest. An
    unusable piece (unknown, inactive, not approved) is skipped with a note, and the next
    one is tried."""
    ev = _Evidence()
    if coupon:
        found = affiliates_selectors.get_coupon_by_code(coupon.strip())
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
        aff = affiliates_selectors.get_affiliate_by_public_id(referral.strip())
        if aff is None:
            ev.ignored.append("the referral cookie names no affiliate")
        else:
            click_id, set_at = links.parse_click_cookie(referral_click)
            click = (
                selectors.click_of_affiliate(click_id=click_id, affiliate_id=aff.pk)
                if click_id
                else None
            )
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
    if claim is not None:
        # The app's referral_code stands for a cookie (tracking.services.claim_codes): it
        # takes the cookie's place, after a real cookie and before a declared name.
        aff = claim.affiliate
        words = f"claim code {claim.code} for the referral cookie of {aff.username}"
        if claim.click_id:
            words += f" (click {claim.click_id})"
        ev.candidates.append(
            _Candidate(
                "cookie",
                aff,
                words,
                click_id=claim.click_id,
                cookie_set_at=claim.cookie_set_at,
                via_code=True,
            )
        )
    if referred_by:
        aff = affiliates_selectors.get_affiliate_by_name_or_public_id(referred_by)
        if aff is None:
            ev.ignored.append(f"declared referrer {referred_by} is unknown")
        else:
            ev.candidates.append(
                _Candidate("declared", aff, f"declared by the customer: {aff.username}")
            )
    return ev


def _resolve_employee(name: str) -> Affiliate:
    aff = affiliates_selectors.get_approved_employee(name)
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
        if selectors.stripe_customer_is_linked(stripe_customer_id):
            raise _stripe_customer_taken(stripe_customer_id)
        referral.stripe_customer_id = stripe_customer_id
        changed.append("stripe_customer_id")
    if changed:
        try:
            with transaction.atomic():
                referral.save(update_fields=changed)
                if "employee" in changed:
                    # Its payments now count as the employee's sales too (the summary's).
                    ReferralStatDue.objects.create(referral=referral)
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
    referral_code: str | None = None,
    now: datetime,
) -> Referral:
    """Credit a new customer to an affiliate; first referrer wins.

    Precedence when several pieces of evidence are present: **coupon > cookie > declared**
    (see `_gather`). A piece naming an affiliate that is not approved, or a self-referral
    (same e-mail, or same non-webmail domain), is not credited and the next piece is tried.
    The first call for a customer decides: a repeat call returns the same referral (its
    `created` attribute is False) and may only add the employee named at upgrade and the
    Stripe customer id. `referral` is the `referral` cookie's value (the affiliate's public
    id); `referral_click` the `referral_click` cookie's value, naming the click;
    `referral_code` a claim code the app read from the clipboard (GET /r/claim-code), spent
    by this signup. The result's `attribution` ({source, reason}) says which evidence
    credited the customer and, when a referral_code did not, why.
    """
    customer_id = (customer_id or "").strip()
    if not customer_id or len(customer_id) > 200:
        raise ServiceError(
            "customer_id is required (at most 200 characters).",
            fields={"customer_id": ["Required, at most 200 characters."]},
        )
    existing = selectors.referral_for_customer(customer_id=customer_id)
    if existing is not None:
        with transaction.atomic():
            result = _add_later_facts(
                existing, employee=employee, stripe_customer_id=stripe_customer_id, now=now
            )
        result.created = False
        result.attribution = _already_reported(result, referral_code=referral_code)
        return result

    emp = _resolve_employee(employee) if employee else None
    emp_note = _employee_self_referral(emp, email)
    if emp_note:
        emp = None
    if stripe_customer_id and selectors.stripe_customer_is_linked(stripe_customer_id):
        raise _stripe_customer_taken(stripe_customer_id)
    spent = (
        claim_codes.spend_claim_code(raw=referral_code, customer_id=customer_id, now=now)
        if referral_code
        else None
    )
    ev = _gather(
        coupon=coupon,
        referral=referral,
        referral_click=referral_click,
        referred_by=referred_by,
        claim=spent.claim if spent else None,
    )
    chosen: _Candidate | None = None
    notes = list(ev.ignored) + ([emp_note] if emp_note else [])
    if spent is not None and spent.reason:
        notes.append(spent.reason)
    code_note = spent.reason if spent is not None else ""
    for cand in ev.candidates:
        refusal = candidate_refusal(cand.affiliate, customer_email=email)
        if refusal:
            notes.append(f"{cand.evidence}: {refusal}")
            code_note = notes[-1] if cand.via_code else code_note
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
        stat_plan=(plan or "")[:80],  # the summary's plan until an event names another
        created_at=now,
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
            emit_referral_created(row)
            if row.affiliate_id is not None:
                # By task name: tracking must not import commissions. Sent after commit; a
                # broker outage is logged, never fails the signup (the commissions sweeper
                # catches a missed one).
                enqueue_on_commit("commissions.record_signup_commission", referral_id=row.pk)
    except IntegrityError:
        if spent is not None and spent.claim is not None:
            # This signup wrote nothing, so it spent nothing.
            claim_codes.release_claim_code(claim=spent.claim, customer_id=customer_id)
        # A concurrent call for the same customer won the race: its answer stands.
        winner = selectors.referral_for_customer(customer_id=customer_id)
        if winner is not None:
            winner.created = False
            winner.attribution = _already_reported(winner, referral_code=referral_code)
            return winner
        # Otherwise the unique column that refused us is stripe_customer_id: two new
        # customers sent at once with the same Stripe customer. Decision: the same 409 as
        # when they come one after the other — a Stripe customer pays for one product
        # customer, and merging them (an upsert) would credit one customer's payments to the
        # other's affiliate. The first insert stands; the caller sees which field clashed.
        if stripe_customer_id and selectors.stripe_customer_is_linked(stripe_customer_id):
            raise _stripe_customer_taken(stripe_customer_id) from None
        raise
    row.created = True
    row.attribution = _attribution(chosen, referral_code=referral_code, code_note=code_note)
    if row.attribution["source"] is None and emp is not None:
        row.attribution["source"] = Referral.Source.EMPLOYEE
    return row


def _already_reported(referral: Referral, *, referral_code: str | None) -> dict[str, str | None]:
    """The `attribution` answer of a signup call for a customer already reported (a repeat,
    or a concurrent call that won): its standing source, and why a sent code did not count."""
    return {
        "source": referral.source if referral.source != Referral.Source.NONE else None,
        "reason": "customer already reported (first referrer wins)" if referral_code else "",
    }


def _attribution(
    chosen: _Candidate | None, *, referral_code: str | None, code_note: str
) -> dict[str, str | None]:
    """The signup answer's `attribution`: the evidence that credited the customer
    ("coupon", "cookie", "referral_code", "declared"; null for nobody) and, when a
    referral_code was sent and did not credit, why ("referral_code expired"…)."""
    source = None
    if chosen is not None:
        source = "referral_code" if chosen.via_code else chosen.source
    reason = ""
    if referral_code and source != "referral_code":
        reason = code_note or f"referral_code not needed: the {source} came first"
    elif source is None:
        reason = "not attributed"
    return {"source": source, "reason": reason}


def lock_customer(customer_id: str, *related: str) -> Referral:
    """The customer's referral row, locked until the transaction ends (the caller's
    `atomic`), for a later fact about it (an employee named, a late claim); NotFound when the
    product never reported that customer."""
    referral = (
        # of=self: PostgreSQL refuses FOR UPDATE on the nullable side of the joins.
        Referral.objects.select_for_update(of=("self",))
        .select_related(*related)
        .filter(customer_id=customer_id)
        .first()
    )
    if referral is None:
        raise NotFound(
            "No customer with this customer_id; report it with POST /api/v1/signups first.",
            fields={"customer_id": ["Unknown customer."]},
        )
    return referral


def name_employee(*, customer_id: str, employee: str, now: datetime) -> tuple[Referral, bool]:
    """(referral, changed): name the employee who helped an already reported customer
    (POST /api/v1/attributions). First naming wins: the same employee again changes nothing,
    another one is a Conflict. The employee earns from `now` on (Referral.employee_at: the
    12 recurring months of its plan count from the naming), alongside the customer's
    affiliate. Refused for the employee's own account (self_referral_reason). Nothing is
    written when this raises."""
    customer_id = (customer_id or "").strip()
    emp = _resolve_employee(employee)
    with transaction.atomic():
        referral = lock_customer(customer_id, "affiliate", "employee")
        if referral.employee_id is not None:
            if referral.employee_id == emp.pk:
                return referral, False
            raise Conflict(
                "Another employee was already named for this customer (first naming wins).",
                code="employee_already_named",
                fields={"employee": ["Another employee was already named."]},
            )
        reason = self_referral_reason(customer_email=referral.email, affiliate=emp)
        if reason:
            raise ServiceError(
                f"Employee {emp.username} is not credited for this customer: {reason}.",
                code="self_referral",
                fields={"employee": [f"Not credited: {reason}."]},
            )
        changed = ["employee", "employee_at"]
        referral.employee, referral.employee_at = emp, now
        if referral.affiliate_id is None:
            referral.source = Referral.Source.EMPLOYEE
            note = f"employee {emp.username} named at upgrade on {now:%Y-%m-%d}"
            referral.why = f"{note}; {referral.why}" if referral.why else note
            changed += ["source", "why"]
        referral.save(update_fields=changed)
        # Its payments now count as the employee's sales too (the summary's share).
        ReferralStatDue.objects.create(referral=referral)
    return referral, True
