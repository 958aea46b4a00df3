"""Every route of the project, sorted by who may open it, and how to fill its URL with one
affiliate's ids — the table the authorization sweep and the query-count test read.

`unclassified_routes()` walks the real URLconf (config.urls): a named route missing from
these tables fails the sweep ("add it to the sweep"), so a new page cannot ship unswept.
The /api/v1/ routes are enumerated from the URLconf by the sweep itself (API_KWARGS says
how to fill their path parameters) and the admin namespace is swept through the admin's
model registry, so neither needs a row here.

`seed_affiliate` writes one affiliate's rows (referrals, payments, a refund, ledger
entries, payouts, clicks, rollups) with amounts chosen to be recognisable in a page, so a
test can say "none of this affiliate's data is in that body".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.urls import URLPattern, URLResolver, get_resolver

# --- the route table ---------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """The ids an affiliate's URLs carry (its own when it opens them; another's in a probe)."""

    public_id: str
    referral_pk: int


Kwargs = Callable[[Owner], dict[str, object]]


def _none(owner: Owner) -> dict[str, object]:
    return {}


# Affiliate pages (login required, own rows only): URL name → kwargs from the owner's ids.
AFFILIATE_PAGES: dict[str, Kwargs] = {
    "dashboard": _none,
    "dashboard-referrals": _none,
    "dashboard-referral": lambda o: {"pk": o.referral_pk},
    "dashboard-commissions": _none,
    "dashboard-payouts": _none,
    "dashboard-links": _none,
    "dashboard-creatives": _none,
    "dashboard-leaderboard": _none,
    "affiliates-testimonial": _none,
    "affiliates-settings": _none,
    "payouts-settings": _none,
}
# Affiliate exports (CSV): own rows only.
AFFILIATE_EXPORTS: dict[str, Kwargs] = {
    "dashboard-commissions-csv": _none,
    "dashboard-payouts-csv": _none,
}
# Of the above, the pages that show one object named in the URL: another affiliate's id
# answers 404.
OBJECT_PAGES = {"dashboard-referral"}

# Staff pages: affiliates get a 403 page (or the admin login), anonymous users the login.
STAFF_PAGES: dict[str, Kwargs] = {"dashboard-program": _none}
# Staff exports. dashboard-program-csv's tables are the links the program page shows (every
# table has its CSV), read from the page by `program_csv_tables`; payouts-export's kinds are
# fixed.
STAFF_EXPORTS = {"dashboard-program-csv", "payouts-export"}
PAYOUT_EXPORT_KINDS = ("paypal", "generic")
PROGRAM_CSV_LINK = re.compile(r"/dashboard/program/([A-Za-z0-9_-]+)\.csv")

# Staff actions by POST that name an affiliate: refused to affiliates.
STAFF_ACTIONS: dict[str, Kwargs] = {
    "affiliates-impersonate-start": lambda o: {"public_id": o.public_id},
}

# Routes that carry nobody's rows, or that are guarded by something other than the session;
# each with the reason it is not swept here.
NOT_SWEPT: dict[str, str] = {
    "program-home": "public page: the program's terms, no affiliate's rows (swept as public)",
    "tracked-redirect": "public redirect; sets a cookie, shows nothing",
    "short-link": "public redirect; sets a cookie, shows nothing",
    "short-link-slash": "public redirect; sets a cookie, shows nothing",
    "favicon": "a static file",
    # (dash-links) the creatives' image files: program-wide banners, embedded on sites.
    "creative-file": "public banner and logo files, nobody's rows",
    "claim-code": "public, the caller's own referral cookie only (tracking tests)",
    "healthz-live": "liveness probe, no data",
    "healthz-ready": "readiness probe, no data",
    "api-schema": "the OpenAPI document: route shapes, no rows",
    "api-docs": "Swagger UI over the schema, no rows",
    "set_language": "stores a language in the session",
    "signup": "account creation form",
    "login": "Django auth",
    "logout": "Django auth",
    "password_change": "Django auth (own account)",
    "password_change_done": "Django auth",
    "password_reset": "Django auth (e-mails the address typed, shows nothing)",
    "password_reset_done": "Django auth",
    "password_reset_confirm": "Django auth (token checked by Django)",
    "password_reset_complete": "Django auth",
    "affiliates-apply": "the applicant's own form",
    "affiliates-terms": "public terms",
    "affiliates-impersonate-stop": "acts on the caller's own session only",
    "payouts-paypal-confirm": "capability URL (the e-mailed token); swept with a junk token",
    "email-unsubscribe": "capability URL (the signed, e-mailed token; tests/emails)",
    "admin-emails": "staff only through admin.site.admin_view (tests/emails)",
    "admin-email-preview": "staff only through admin.site.admin_view (tests/emails)",
    "payouts-stripe-return": "calls Stripe Connect for the caller's own account",
    "payouts-stripe-refresh": "calls Stripe Connect for the caller's own account",
    "stripe-webhook": "signature-verified, server to server (commissions tests)",
    "webhooks-paypal": "signature-verified with PayPal, server to server (payouts tests)",
    "webhooks-stripe-connect": "signature-verified, server to server (payouts tests)",
}

# How the sweep fills the path parameters of /api/v1/ routes (by parameter name).
API_KWARGS: dict[str, Callable[[Owner], object]] = {"public_id": lambda o: o.public_id}


def iter_routes(
    patterns: list | None = None, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str | None, str, URLPattern]]:
    """(route, name, namespace, pattern) of every URL pattern, includes flattened."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            ns = ":".join(filter(None, [namespace, p.namespace or ""]))
            yield from iter_routes(p.url_patterns, route, ns)
        else:
            yield route, p.name, namespace, p


def is_api_route(route: str) -> bool:
    return route.startswith("api/v1/")


def classified_names() -> set[str]:
    return {
        *AFFILIATE_PAGES,
        *AFFILIATE_EXPORTS,
        *STAFF_PAGES,
        *STAFF_EXPORTS,
        *STAFF_ACTIONS,
        *NOT_SWEPT,
    }


def unclassified_routes() -> list[str]:
    """Routes of config.urls the sweep does not know (empty when the table is complete)."""
    known = classified_names()
    missing = []
    for route, name, namespace, _ in iter_routes():
        if namespace == "admin" or is_api_route(route):
            continue  # swept by enumeration (the admin registry, the API patterns)
        if name is None:
            missing.append(f"{route} (unnamed)")
        elif name not in known:
            missing.append(f"{name} ({route})")
    return missing


def is_placeholder(path: str) -> bool:
    """A route whose page is not built yet (branch `dash`: dashboard.views.pending, 501)."""
    from django.urls import resolve

    return resolve(path.split("?")[0]).func.__module__ == "dashboard.views.pending"


# --- one affiliate's rows ---------------------------------------------------------------


@dataclass
class Seeded:
    """What seed_affiliate wrote, and the strings that give its rows away in a page."""

    affiliate: object
    referral: object
    amounts: list[int] = field(default_factory=list)
    paypal_email: str = ""
    bank_details: str = ""
    tax_id: str = ""
    customer_ids: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)

    @property
    def owner(self) -> Owner:
        return Owner(public_id=self.affiliate.public_id, referral_pk=self.referral.pk)

    def markers(self) -> set[str]:
        """Every string of this affiliate's own data a page could show: its username (and
        so every id, path and e-mail seeded with it), its public id, e-mail addresses, payout
        destination, and each amount written as minor units and as money (en, de, fr)."""
        found = {
            self.affiliate.username,
            self.affiliate.public_id,
            self.affiliate.user.email,
            self.paypal_email,
            self.tax_id,
            *self.customer_ids,
            *self.emails,
        }
        for amount in self.amounts:
            major, minor = divmod(amount, 100)
            found |= {
                str(amount),
                f"{major:,}.{minor:02d}",
                f"{major}.{minor:02d}",
                f"{major:,}.{minor:02d}".replace(",", ".")[:-3] + f",{minor:02d}",
                f"{major},{minor:02d}",
            }
        return {m for m in found if m}

    def destinations(self) -> set[str]:
        """Where its money goes: what Support must never see."""
        return {m for m in (self.paypal_email, self.bank_details, self.tax_id) if m}


def seed_affiliate(
    affiliate,  # noqa: ANN001
    *,
    n: int,
    base: int,
    today: date,
) -> Seeded:
    """`n` referrals (the first with `n` payments, one refunded), their ledger entries in
    every state, `n` paid payouts and one pending, `n` clicks, `n` days of rollups, and a
    PayPal payout account. Every amount is `base` + a small offset, so two affiliates
    seeded with bases far apart never share an amount. Names carry the username."""
    from commissions.models import CommissionEntry, Payment, Refund
    from payouts.models import Payout, PayoutAccount, PayoutItem, PayoutRun
    from tests.dashboard.conftest import daily, path_stat, referrer_stat
    from tests.factories import ClickFactory, CommissionEntryFactory, ReferralFactory

    tag = affiliate.username
    now = datetime.combine(today, time(9), tzinfo=UTC)
    seeded = Seeded(affiliate=affiliate, referral=None)
    amount = iter(range(base, base + 10_000, 7))

    def entry(kind: str, state: str, *, payment=None, source_id: str = "", **extra):  # noqa: ANN001, ANN202
        value = next(amount)
        seeded.amounts.append(value)
        stamps = {
            "approved": {"approved_at": now},
            "in_payout": {"approved_at": now, "in_payout_at": now},
            "paid": {"approved_at": now, "in_payout_at": now, "paid_at": now},
        }.get(state, {})
        return CommissionEntryFactory(
            affiliate=affiliate,
            kind=kind,
            state=state,
            amount=value,
            payment=payment,
            source_type="payment" if payment else "signup",
            source_id=source_id or f"{tag}-{kind}-{value}",
            rule=f"{kind} rule",
            rate_bp=2000 if payment else None,
            base_amount=payment.amount if payment else None,
            base_currency="USD" if payment else "",
            approve_after=now,
            created_at=now,
            **stamps,
            **extra,
        )

    paid_entries = []
    for i in range(n):
        referral = ReferralFactory(
            affiliate=affiliate,
            customer_id=f"cus_{tag}_{i}",
            email=f"{tag}.customer{i}@customer-{tag}.test",
            plan="Pro",
            created_at=now - timedelta(days=i),
        )
        seeded.customer_ids.append(referral.customer_id)
        seeded.emails.append(referral.email)
        seeded.referral = seeded.referral or referral
        entry("signup", "pending", source_id=str(referral.pk))
        for j in range(n if i == 0 else 1):
            paid = next(amount)
            seeded.amounts.append(paid)
            payment = Payment.objects.create(
                provider="api",
                external_id=f"in_{tag}_{i}_{j}",
                referral=referral,
                customer_id=referral.customer_id,
                amount=paid,
                currency="USD",
                paid_at=now - timedelta(days=i, hours=j),
                product_plan="Pro",
                is_first=j == 0,
                program_amount=paid,
                fx_rate=1,
            )
            kind = "first_payment" if j == 0 else "recurring"
            state = ("approved", "paid", "in_payout", "pending", "declined")[j % 5]
            e = entry(kind, state, payment=payment, source_id=str(payment.pk))
            if state == "paid":
                paid_entries.append(e)
        if i == 0:
            refund = next(amount)
            seeded.amounts.append(refund)
            Refund.objects.create(
                provider="api",
                external_id=f"re_{tag}",
                payment=payment,
                payment_ref=payment.external_id,
                amount=refund,
                currency="USD",
                refunded_at=now,
                applied_at=now,
            )
            entry("clawback", "pending", payment=payment, source_id=f"re_{tag}")

    seeded.paypal_email = f"{tag}.payouts@paypal-{tag}.test"
    seeded.tax_id = f"TAX-{tag.upper()}-9931"
    PayoutAccount.objects.update_or_create(
        affiliate=affiliate,
        defaults={
            "method": "paypal",
            "paypal_email": seeded.paypal_email,
            "paypal_confirmed_at": datetime(2026, 1, 1, tzinfo=UTC),
            "details_changed_at": datetime(2026, 1, 1, tzinfo=UTC),
            "tax_legal_name": f"{tag} legal",
            "tax_country": "DE",
            "tax_id": seeded.tax_id,
        },
    )
    run = PayoutRun.objects.create(started_at=now, state=PayoutRun.State.COMPLETED)
    for k in range(n):
        # Paid payouts: one per paid entry while they last, then a paid adjustment each.
        e = paid_entries[k] if k < len(paid_entries) else entry("adjustment", "paid")
        payout = Payout.objects.create(
            run=run,
            affiliate=affiliate,
            amount=e.amount,
            currency="USD",
            method="paypal",
            destination=seeded.paypal_email,
            tax_id=seeded.tax_id,
            state=Payout.State.PAID,
            idempotency_key=f"{tag}-paid-{k}",
            created_at=now - timedelta(days=k),
            sent_at=now - timedelta(days=k),
            paid_at=now - timedelta(days=k),
        )
        PayoutItem.objects.create(payout=payout, entry=e, amount=e.amount)
    due = entry("adjustment", "in_payout")
    pending = Payout.objects.create(
        run=PayoutRun.objects.create(started_at=now, state=PayoutRun.State.APPROVED),
        affiliate=affiliate,
        amount=due.amount,
        currency="USD",
        method="paypal",
        destination=seeded.paypal_email,
        tax_id=seeded.tax_id,
        state=Payout.State.PENDING,
        idempotency_key=f"{tag}-pending",
        created_at=now,
    )
    PayoutItem.objects.create(payout=pending, entry=due, amount=due.amount)

    for i in range(n):
        ClickFactory(
            affiliate=affiliate,
            at=now - timedelta(days=i),
            landing_path=f"/blog/{tag}-post-{i}/",
            referrer_domain=f"{tag}-blog{i}.test",
        )
        day = today - timedelta(days=i)
        clicks, revenue, commission = next(amount), next(amount), next(amount)
        seeded.amounts += [revenue, commission]
        daily(
            affiliate,
            day,
            clicks=clicks,
            unique_clicks=clicks,
            signups=1,
            first_payments=1,
            revenue=revenue,
            commission=commission,
        )
        path_stat(affiliate, day, f"/blog/{tag}-post-{i}/", clicks=clicks)
        referrer_stat(affiliate, day, f"{tag}-blog{i}.test", clicks=clicks)
    assert CommissionEntry.objects.filter(affiliate=affiliate).exists()
    return seeded
