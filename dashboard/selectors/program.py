"""Reads behind the staff's program dashboard (/dashboard/program/) and its CSV exports.

Every function is a fixed number of aggregate queries over the rollups (tracking.DailyStat,
DailyPathStat, DailyReferrerStat; the customer counters through dashboard.selectors.customers)
or the ledger's day rollup and payouts, whatever the data size. Money is integer minor
units; period figures in the rollups are in settings.PROGRAM_CURRENCY, ledger figures carry
their own currency and are never summed across currencies.

Definitions (the issue was silent on these; the page's footnotes say the same):
- conversion: signups ÷ unique clicks (as on the affiliate's overview);
- paying customers: referred customers with a payment in the period that was not refunded
  in full; new paying customers: first payments (the rollup's upgrades);
- ROI: (referred revenue − commission) ÷ commission, in percent;
- cost per acquired paying customer (CAC): commission ÷ new paying customers;
- EPC: commission ÷ clicks (earnings per click), in minor units;
- LTV: lifetime revenue ÷ lifetime paying customers (all time, not the period);
- retention at N months: see `RETENTION_DAYS`.
Rounding: money quotients half away from zero to the minor unit, ratios to a tenth, integer
arithmetic only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.db.models import Count, Sum

from affiliates.models import Affiliate
from commissions import ledger_rollups
from commissions.models import CommissionEntry
from dashboard.selectors import customers
from dashboard.selectors.period import Period
from dashboard.selectors.rollups import TOTAL_FIELDS, period_totals
from dashboard.templatetags.figures import DASH, format_tenths, tenths
from payouts.models import Payout, PayoutAccount, PayoutItem
from payouts.selectors import hold_reason
from tracking.models import DailyStat

# Retention at 3 / 6 / 12 months is defined with the counters that bucket it; the page's
# footnote and the views read it from here. A young program shows "—" rather than 0 %.
from tracking.services import RETENTION_DAYS
from tracking.services import RETENTION_GRACE_DAYS as RETENTION_GRACE_DAYS

E = CommissionEntry
STATES = (E.State.PENDING, E.State.APPROVED, E.State.IN_PAYOUT, E.State.PAID)

# An affiliate is ranked by conversion only with at least this many unique clicks in the
# period: 1 signup from 1 click is not a 100 % affiliate.
MIN_CLICKS_FOR_CONVERSION = 20


def quotient(numerator: int, denominator: int) -> int | None:
    """numerator ÷ denominator rounded half away from zero (None when denominator is 0)."""
    if not denominator:
        return None
    negative = (numerator < 0) != (denominator < 0)
    q, r = divmod(abs(numerator), abs(denominator))
    if 2 * r >= abs(denominator):
        q += 1
    return -q if negative else q


def percent_text(part: int, whole: int) -> str:
    """part ÷ whole as a percentage to a tenth without the sign ("355.0"), "—" for 0."""
    return format_tenths(tenths(100 * part, whole)) if whole else DASH


def _bounds(period: Period) -> tuple[datetime, datetime]:
    start = datetime.combine(period.start, time.min, tzinfo=UTC)
    return start, datetime.combine(period.end + timedelta(days=1), time.min, tzinfo=UTC)


# --- the tiles ------------------------------------------------------------------------------


def commission_states(*, period: Period) -> dict[str, dict[str, int]]:
    """{currency: {pending, approved, in_payout, paid}} of the entries whose money belongs to
    the period by the rollup's day rule (commissions/rollups.py: an entry tied to a payment
    on the day it was paid, a signup bounty on the signup's day, anything else on the day it
    was written). Declined entries count nowhere. Two queries over the ledger's daily rollup
    (commissions.ledger_rollups.ledger_sums: days with a write not swept yet read live)."""
    rows = ledger_rollups.ledger_sums(start=period.start, end=period.end)
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        if row.state in STATES:
            per = out.setdefault(row.currency, dict.fromkeys(STATES, 0))
            per[row.state] += row.amount
    return dict(sorted(out.items()))


def payouts_sent(*, period: Period) -> dict[str, dict[str, int]]:
    """{currency: {count, amount}} of payouts paid in the period (by their paid_at)."""
    start, end = _bounds(period)
    rows = (
        Payout.objects.filter(state=Payout.State.PAID, paid_at__gte=start, paid_at__lt=end)
        .values("currency")
        .annotate(count=Count("pk"), amount=Sum("amount"))
        .order_by("currency")
    )
    return {row["currency"]: {"count": row["count"], "amount": row["amount"] or 0} for row in rows}


def payouts_owed() -> dict[str, int]:
    """{currency: minor units} the program owes its affiliates now: entries approved (past
    their hold, not paid yet) or in a payout not yet paid. Pending entries are not owed yet.
    Read from the ledger's daily rollup (ledger_rollups.ledger_sums, all time, these two
    states): two queries over LedgerDay rows and the marked days' entries, not every entry."""
    out: dict[str, int] = {}
    for row in ledger_rollups.ledger_sums(states=[E.State.APPROVED, E.State.IN_PAYOUT]):
        out[row.currency] = out.get(row.currency, 0) + row.amount
    return dict(sorted(out.items()))


def program_summary(*, period: Period, due: customers.DueShares | None = None) -> dict[str, Any]:
    """The tiles: the rollup totals (TOTAL_FIELDS), paying customers, ROI, CAC, EPC, the
    commission states and payouts per currency, and the program currency's own figures.
    `due`: customers.due_shares(), when the caller has read it already."""
    currency = settings.PROGRAM_CURRENCY
    totals = period_totals(period=period)
    states = commission_states(period=period)
    sent = payouts_sent(period=period)
    owed = payouts_owed()
    revenue, commission = totals["revenue"], totals["commission"]
    own = states.get(currency, dict.fromkeys(STATES, 0))
    return {
        "totals": totals,
        "paying_customers": sum(customers.paying_customers(period, due=due).values()),
        "roi": percent_text(revenue - commission, commission),
        "cac": quotient(commission, totals["first_payments"]),
        "epc": quotient(commission, totals["clicks"]),
        "conversion": percent_text(totals["signups"], totals["unique_clicks"]),
        "states": states,
        "pending": own[E.State.PENDING],
        "approved": own[E.State.APPROVED],
        "in_payout": own[E.State.IN_PAYOUT],
        "paid": own[E.State.PAID],
        "sent": sent,
        "sent_amount": sent.get(currency, {}).get("amount", 0),
        "sent_count": sent.get(currency, {}).get("count", 0),
        "owed": owed,
        "owed_amount": owed.get(currency, 0),
        "other_currencies": sorted((set(states) | set(sent) | set(owed)) - {currency}),
    }


def trend(*, period: Period) -> list[dict[str, Any]]:
    """One row per day of the period, oldest first (days without rollups as zeros)."""
    rows = {
        row["day"]: row
        for row in DailyStat.objects.filter(day__gte=period.start, day__lte=period.end)
        .values("day")
        .annotate(**{f: Sum(f) for f in TOTAL_FIELDS})
        .order_by()
    }
    empty = dict.fromkeys(TOTAL_FIELDS, 0)
    return [
        {**empty, **{k: v or 0 for k, v in rows.get(day, {}).items()}, "day": day}
        for day in period.each_day()
    ]


def applications_waiting() -> int:
    return Affiliate.objects.filter(status=Affiliate.Status.APPLIED).count()


# --- per affiliate --------------------------------------------------------------------------


@dataclass
class AffiliateRow:
    """One affiliate's figures: the period's (rollups) and the lifetime ones (ledger)."""

    affiliate_id: int
    username: str
    clicks: int = 0
    unique_clicks: int = 0
    signups: int = 0
    first_payments: int = 0
    revenue: int = 0
    commission: int = 0
    paying_customers: int = 0
    lifetime_revenue: int = 0
    lifetime_customers: int = 0
    # {months: (customers old enough to count, of them still paying)}
    retention: dict[int, tuple[int, int]] | None = None

    @property
    def conversion(self) -> str:
        return percent_text(self.signups, self.unique_clicks)

    @property
    def epc(self) -> int | None:
        return quotient(self.commission, self.clicks)

    @property
    def ltv(self) -> int | None:
        return quotient(self.lifetime_revenue, self.lifetime_customers)

    def retained(self, months: int) -> str:
        eligible, kept = (self.retention or {}).get(months, (0, 0))
        return percent_text(kept, eligible)

    @property
    def retention_cells(self) -> list[str]:
        return [self.retained(months) for months in RETENTION_DAYS]

    def __getitem__(self, key: str) -> Any:
        # Lets the existing `top_affiliates` readers (row["revenue"]) keep working.
        return getattr(self, key)


def affiliate_rows(
    *, period: Period, today: date, due: customers.DueShares | None = None
) -> list[AffiliateRow]:
    """Every affiliate with rollups in the period or referred paying customers ever, ordered
    by the period's revenue. Two queries over DailyStat, and dashboard.selectors.customers'
    counters for paying customers and retention (one each, and the marked referrals' one or
    two)."""
    rows: dict[int, AffiliateRow] = {}
    period_rows = (
        DailyStat.objects.filter(day__gte=period.start, day__lte=period.end)
        .values("affiliate_id", "affiliate__username")
        .annotate(**{f: Sum(f) for f in TOTAL_FIELDS})
        .order_by()
    )
    for found in period_rows:
        row: dict[str, Any] = dict(found)
        entry = AffiliateRow(affiliate_id=row["affiliate_id"], username=row["affiliate__username"])
        for f in TOTAL_FIELDS:
            setattr(entry, f, row[f] or 0)
        rows[entry.affiliate_id] = entry
    lifetime = (
        DailyStat.objects.values("affiliate_id", "affiliate__username")
        .annotate(revenue=Sum("revenue"))
        .order_by()
    )
    due = due if due is not None else customers.due_shares()
    retention = customers.retention(today=today, due=due)
    for life in lifetime:
        if life["affiliate_id"] not in rows and life["affiliate_id"] not in retention:
            continue
        entry = rows.setdefault(
            life["affiliate_id"],
            AffiliateRow(affiliate_id=life["affiliate_id"], username=life["affiliate__username"]),
        )
        entry.lifetime_revenue = life["revenue"] or 0
    for affiliate_id, count in customers.paying_customers(period, due=due).items():
        if affiliate_id in rows:
            rows[affiliate_id].paying_customers = count
    for affiliate_id, per in retention.items():
        if affiliate_id in rows:
            rows[affiliate_id].lifetime_customers = per[0][0]
            rows[affiliate_id].retention = per
    return sorted(rows.values(), key=lambda r: (-r.revenue, -r.commission, r.username))


def lifetime_totals(rows: list[AffiliateRow]) -> AffiliateRow:
    """The program's row: every affiliate's figures added up (retention cohorts too)."""
    total = AffiliateRow(affiliate_id=0, username="", retention={})
    for row in rows:
        for f in (*TOTAL_FIELDS, "paying_customers", "lifetime_revenue", "lifetime_customers"):
            setattr(total, f, getattr(total, f) + getattr(row, f))
        assert total.retention is not None
        for months, (eligible, kept) in (row.retention or {}).items():
            e, k = total.retention.get(months, (0, 0))
            total.retention[months] = (e + eligible, k + kept)
    return total


def top_by(rows: list[AffiliateRow], key: str, *, limit: int = 10) -> list[AffiliateRow]:
    """The leaders by "revenue", "clicks" or "conversion" (signups per unique click, exact
    fraction comparison; only affiliates with MIN_CLICKS_FOR_CONVERSION unique clicks)."""
    active = [r for r in rows if r.clicks or r.signups or r.revenue or r.commission]
    if key == "revenue":
        ranked = sorted(active, key=lambda r: (-r.revenue, -r.commission, r.username))
    elif key == "clicks":
        ranked = sorted(active, key=lambda r: (-r.clicks, -r.signups, r.username))
    else:
        eligible = [r for r in active if r.unique_clicks >= MIN_CLICKS_FOR_CONVERSION]
        # Fraction: an exact comparison of signups / unique clicks, no float.
        ranked = sorted(
            eligible,
            key=lambda r: (-Fraction(r.signups, r.unique_clicks), -r.signups, r.username),
        )
    return ranked[:limit]


# --- the next payout run --------------------------------------------------------------------


def next_run_at(now: datetime) -> tuple[datetime, bool]:
    """When config/celery.py's beat next runs payouts (the 1st at 13:07 UTC for everyone,
    the 15th at 13:07 UTC for two-weekly affiliates), and whether that run is two-weekly only."""
    now = now.astimezone(UTC)
    for month_offset in range(3):
        year, month = divmod(now.month - 1 + month_offset, 12)
        for day, two_weekly in ((1, False), (15, True)):
            at = datetime(now.year + year, month + 1, day, 13, 7, tzinfo=UTC)
            if at > now:
                return at, two_weekly
    raise AssertionError("unreachable: a run falls within every month")


@dataclass
class ForecastRow:
    affiliate_id: int
    username: str
    currency: str
    method: str
    amount: int
    destination: str
    reason: str  # "" when the run would pay it


def payout_forecast(*, now: datetime) -> dict[str, Any]:
    """What payouts.services.runs.run_payouts would pay if it ran at the next scheduled time
    on today's approved balances: per affiliate and currency, the approved entries not in a
    live payout, summed; paid when > 0, at or over the affiliate's threshold and not held
    (payouts.selectors.hold_reason at the run's time). Entries still pending today are left
    out (their hold may end before the run; the forecast does not guess). Six queries
    at most: the rollup (two), the carried items, the two-weekly filter, affiliates, accounts.

    Returns {"at", "two_weekly_only", "rows" (ForecastRow, paid and held), "by_method"
    [(currency, method, payouts, amount)], "held" [(currency, count, amount)]}."""
    at, two_weekly_only = next_run_at(now)
    # Approved balances per affiliate and currency from the ledger's daily rollup, less the
    # approved entries already carried by a live payout (a run between its items' insert
    # and the entries' move to in_payout; driven by the live items' unique index).
    totals: dict[tuple[int, str], int] = defaultdict(int)
    for found in ledger_rollups.ledger_sums(states=[E.State.APPROVED], by_affiliate=True):
        assert found.affiliate_id is not None
        totals[(found.affiliate_id, found.currency)] += found.amount
    # Only payouts not final can carry one: a payout marked paid moves its live items'
    # entries to paid in the same transaction and a failed one's items are not live
    # (payouts.services.transitions), so the read walks the payouts in flight, not every
    # item ever paid.
    carried = (
        PayoutItem.objects.filter(live=True, entry__state=E.State.APPROVED)
        .exclude(payout__state__in=[Payout.State.PAID, Payout.State.FAILED])
        .values("entry__affiliate_id", "entry__currency")
        .annotate(total=Sum("entry__amount"))
        .order_by()
    )
    for found_row in carried:
        key = (found_row["entry__affiliate_id"], found_row["entry__currency"])
        totals[key] -= found_row["total"] or 0
    weekly: set[int] | None = None
    if two_weekly_only:
        weekly = set(
            Affiliate.objects.filter(
                pk__in={a for a, _ in totals}, payout_frequency=Affiliate.Frequency.TWO_WEEKLY
            ).values_list("pk", flat=True)
        )
    balances: list[tuple[int, str, int]] = [
        (a, c, total) for (a, c), total in totals.items() if weekly is None or a in weekly
    ]
    ids = {a for a, _c, _t in balances}
    affiliates = Affiliate.objects.select_related("user").in_bulk(list(ids))
    accounts = {a.affiliate_id: a for a in PayoutAccount.objects.filter(affiliate_id__in=ids)}
    rows: list[ForecastRow] = []
    for affiliate_id, currency, total in balances:
        affiliate = affiliates[affiliate_id]
        if total <= 0 or total < affiliate.payout_threshold:
            continue  # carried forward, as the run does
        account = accounts.get(affiliate.pk)
        reason = hold_reason(affiliate=affiliate, account=account, now=at)
        method = account.method if account is not None else PayoutAccount.Method.NONE
        destination = ""
        if account is not None and method == PayoutAccount.Method.PAYPAL:
            destination = account.paypal_email
        elif account is not None and method == PayoutAccount.Method.STRIPE:
            destination = account.stripe_account_id
        rows.append(
            ForecastRow(
                affiliate_id=affiliate.pk,
                username=affiliate.username,
                currency=currency,
                method=method,
                amount=total,
                destination=destination,
                reason=reason,
            )
        )
    rows.sort(key=lambda r: (r.currency, r.method, -r.amount, r.username))
    by_method: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    held: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        bucket = held[r.currency] if r.reason else by_method[(r.currency, r.method)]
        bucket[0] += 1
        bucket[1] += r.amount
    labels = dict(PayoutAccount.Method.choices)
    return {
        "at": at,
        "two_weekly_only": two_weekly_only,
        "rows": rows,
        "by_method": [
            (currency, labels.get(method, method), n, amount)
            for (currency, method), (n, amount) in sorted(by_method.items())
        ],
        "held": [(currency, n, amount) for currency, (n, amount) in sorted(held.items())],
    }
