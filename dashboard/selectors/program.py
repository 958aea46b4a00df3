"""Reads behind the staff's program dashboard (/dashboard/program/) and its CSV exports.

Every function is a fixed number of aggregate queries over the rollups (tracking.DailyStat,
DailyPathStat, DailyReferrerStat) or the ledger (payments, commission entries, payouts),
whatever the data size. Money is integer minor units; period figures in the rollups are in
settings.PROGRAM_CURRENCY, ledger figures carry their own currency and are never summed
across currencies.

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
from typing import Any, cast

from django.conf import settings
from django.db.models import Count, F, Max, Min, Q, QuerySet, Sum

from affiliates.models import Affiliate
from commissions import ledger_rollups
from commissions.models import CommissionEntry, Payment
from dashboard.selectors.period import Period
from dashboard.selectors.rollups import TOTAL_FIELDS, period_totals
from dashboard.templatetags.figures import DASH, format_tenths, tenths
from payouts.models import Payout, PayoutAccount, PayoutItem
from payouts.selectors import hold_reason
from tracking.models import DailyStat, Referral, ReferralStatDue

E = CommissionEntry
STATES = (E.State.PENDING, E.State.APPROVED, E.State.IN_PAYOUT, E.State.PAID)

# Retention at 3 / 6 / 12 months, counted from payments (commissions.models.Payment.paid_at,
# payments refunded in full left out): a customer is "still paying after N months" when it
# has a payment on a UTC day at least RETENTION_DAYS[N] − RETENTION_GRACE_DAYS days after its
# first payment's day. The grace absorbs billing-day drift (a monthly renewal lands 89–92
# days after the first payment at month 3, the month-2 one at 59–62, so 83 days separates
# them; an annual renewal at 365 counts at 12 months). Only customers whose first payment is
# at least RETENTION_DAYS[N] days before today are counted at N months (the others could not
# have got there yet), so a young program shows "—" rather than 0 %.
RETENTION_DAYS = {3: 90, 6: 180, 12: 365}
RETENTION_GRACE_DAYS = 7

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


def _kept_payments() -> QuerySet[Payment]:
    """Referred customers' payments that still stand: not refunded in full and not lost to a
    chargeback (a loss is booked as a full refund, except while the payment waits for its
    exchange rate, hence both conditions)."""
    return Payment.objects.filter(
        referral__affiliate__isnull=False, amount__gt=F("refunded_amount")
    ).exclude(dispute_state=Payment.DisputeState.LOST)


def _paying_customers(period: Period) -> dict[int, int]:
    """{affiliate id: referred customers with a payment in the period, not refunded in full}."""
    start, end = _bounds(period)
    rows = (
        _kept_payments()
        .filter(paid_at__gte=start, paid_at__lt=end)
        .values("referral__affiliate_id")
        .annotate(n=Count("referral_id", distinct=True))
        .order_by()
    )
    return {row["referral__affiliate_id"]: row["n"] for row in rows}


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


def program_summary(*, period: Period) -> dict[str, Any]:
    """The tiles: the rollup totals (TOTAL_FIELDS), paying customers, ROI, CAC, EPC, the
    commission states and payouts per currency, and the program currency's own figures."""
    currency = settings.PROGRAM_CURRENCY
    totals = period_totals(period=period)
    states = commission_states(period=period)
    sent = payouts_sent(period=period)
    owed = payouts_owed()
    revenue, commission = totals["revenue"], totals["commission"]
    own = states.get(currency, dict.fromkeys(STATES, 0))
    return {
        "totals": totals,
        "paying_customers": sum(_paying_customers(period).values()),
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


def _retention(*, today: date) -> dict[int, dict[int, tuple[int, int]]]:
    """{affiliate id: {months: (eligible, retained)}} and lifetime paying customers under
    key 0 as (customers, customers), from each referral's summary (Referral.stat_*, kept by
    commissions.referral_stats): one row per referred customer with a kept payment
    (stat_last_paid_at is the latest kept one), never a scan of the payments. The first
    kept payment is stat_first_paid_at unless one of the customer's payments was refunded or
    lost to a chargeback; those few customers' first kept payment is read from their
    payments (on payment_undone and payment_customer_time), and so are the referrals still
    marked for the summary sweep. Three to five queries. See RETENTION_DAYS."""
    # Referrals marked for the sweeper (commissions.referral_stats) have a summary that may
    # be stale: those few are read live from their payments, as the ledger rollup reads its
    # marked days live, so the figure is exact without waiting for the sweep.
    due = set(ReferralStatDue.objects.values_list("referral_id", flat=True))
    # Both stamps are set together, and only rows with them are read (the filter below).
    customers = cast(
        list[tuple[int, int, datetime, datetime]],
        list(
            Referral.objects.filter(affiliate__isnull=False, stat_last_paid_at__isnull=False)
            .exclude(pk__in=ReferralStatDue.objects.values("referral_id"))
            .values_list("pk", "affiliate_id", "stat_first_paid_at", "stat_last_paid_at")
            .order_by()
        ),
    )
    # Customers with a payment refunded or lost (the partial index payment_undone, same
    # condition): their first kept payment may come after stat_first_paid_at.
    undone = (
        set(
            Payment.objects.filter(
                Q(refunded_amount__gt=0) | Q(dispute_state=Payment.DisputeState.LOST)
            ).values_list("referral_id", flat=True)
        )
        - due
    )
    first_kept: dict[int, datetime] = {}
    if undone:
        first_kept = {
            row["referral_id"]: row["first"]
            for row in _kept_payments()
            .filter(referral_id__in=undone)
            .values("referral_id")
            .annotate(first=Min("paid_at"))
            .order_by()
        }
    if due:
        customers += [
            (row["referral_id"], row["referral__affiliate_id"], row["first"], row["last"])
            for row in _kept_payments()
            .filter(referral_id__in=due)
            .values("referral_id", "referral__affiliate_id")
            .annotate(first=Min("paid_at"), last=Max("paid_at"))
            .order_by()
        ]
    out: dict[int, dict[int, list[int]]] = defaultdict(
        lambda: {m: [0, 0] for m in (0, *RETENTION_DAYS)}
    )
    for pk, affiliate_id, first_at, last_at in customers:
        per = out[affiliate_id]
        first = first_kept.get(pk, first_at).astimezone(UTC).date()
        last = last_at.astimezone(UTC).date()
        per[0][0] += 1
        per[0][1] += 1
        for months, days in RETENTION_DAYS.items():
            if (today - first).days >= days:
                per[months][0] += 1
                if (last - first).days >= days - RETENTION_GRACE_DAYS:
                    per[months][1] += 1
    return {a: {m: (v[0], v[1]) for m, v in per.items()} for a, per in out.items()}


def affiliate_rows(*, period: Period, today: date) -> list[AffiliateRow]:
    """Every affiliate with rollups in the period or referred paying customers ever, ordered
    by the period's revenue. Four queries."""
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
    retention = _retention(today=today)
    for life in lifetime:
        if life["affiliate_id"] not in rows and life["affiliate_id"] not in retention:
            continue
        entry = rows.setdefault(
            life["affiliate_id"],
            AffiliateRow(affiliate_id=life["affiliate_id"], username=life["affiliate__username"]),
        )
        entry.lifetime_revenue = life["revenue"] or 0
    for affiliate_id, count in _paying_customers(period).items():
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
    carried = (
        PayoutItem.objects.filter(live=True, entry__state=E.State.APPROVED)
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
