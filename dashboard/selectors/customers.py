"""Referred paying customers and their retention, per affiliate, for the program dashboard
(dashboard.selectors.program): read from tracking's counters DailyCustomerStat and
CohortStat, which the referral summary sweeper keeps (tracking.services.set_referral_stats),
never from a scan of the payments or the referrals, so the cost is affiliates × days.

Referrals marked for the sweeper (ReferralStatDue) may be stale in the counters: their
stored share (Referral.stat_kept, exactly what the counters hold for them) is taken back out
and their kept payments are read live instead, as the ledger's day rollup reads its marked
days live. So each figure equals a fresh count over the payments whenever it is read.

A payment is *kept* when it is not refunded in full and not lost to a chargeback (a loss is
booked as a full refund, except while the payment waits for its exchange rate, hence both
conditions); a customer counts under its referral's affiliate.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, timedelta
from typing import Any

from django.db.models import F, Q, QuerySet, Sum

from commissions.models import Payment
from dashboard.selectors.period import Period
from tracking.models import CohortStat, DailyCustomerStat, ReferralStatDue
from tracking.services import RETENTION_DAYS, kept_months, stored_share

__all__ = ["RETENTION_DAYS", "due_shares", "kept_payments", "paying_customers", "retention"]

# (affiliate id or None, the customer's kept payment days)
Share = tuple[int | None, list[date]]


def kept_payments() -> QuerySet[Payment]:
    """Referred customers' payments that still stand (see the module's docstring)."""
    return Payment.objects.filter(
        referral__affiliate__isnull=False, amount__gt=F("refunded_amount")
    ).exclude(dispute_state=Payment.DisputeState.LOST)


DueShares = tuple[list[Share], list[Share]]


def due_shares() -> DueShares:
    """(stored, live) shares of the referrals marked due: what the counters hold for each,
    and what its kept payments say now. Two queries (both small: the marks are the
    sweeper's backlog, about a minute of writes)."""
    stored = dict(ReferralStatDue.objects.values_list("referral_id", "referral__stat_kept"))
    if not stored:
        return [], []
    live: dict[int, tuple[int, set[date]]] = {}
    for referral_id, affiliate_id, paid_at in (
        kept_payments()
        .filter(referral_id__in=ReferralStatDue.objects.values("referral_id"))
        .values_list("referral_id", "referral__affiliate_id", "paid_at")
    ):
        live.setdefault(referral_id, (affiliate_id, set()))[1].add(paid_at.astimezone(UTC).date())
    return (
        [stored_share(value) for value in stored.values()],
        [(affiliate_id, sorted(days)) for affiliate_id, days in live.values()],
    )


def paying_customers(period: Period, *, due: DueShares | None = None) -> dict[int, int]:
    """{affiliate id: referred customers with a kept payment in the period}. Summed from
    DailyCustomerStat (each customer once: on its first kept day in the period, the one
    whose previous kept day is before it), corrected for the marked referrals (`due`, read
    here when not given). One query, and due_shares' one or two."""
    counts: Counter = Counter(
        {
            row["affiliate_id"]: row["n"]
            for row in DailyCustomerStat.objects.filter(
                day__gte=period.start, day__lte=period.end, previous__lt=period.start
            )
            .values("affiliate_id")
            .annotate(n=Sum("customers"))
            .order_by()
        }
    )
    stored, live = due if due is not None else due_shares()
    for shares, sign in ((stored, -1), (live, 1)):
        for affiliate_id, days in shares:
            if affiliate_id is not None and any(period.start <= d <= period.end for d in days):
                counts[affiliate_id] += sign
    return {a: n for a, n in counts.items() if n}


def retention(
    *, today: date, due: DueShares | None = None
) -> dict[int, dict[int, tuple[int, int]]]:
    """{affiliate id: {months: (eligible, retained)}}, with lifetime paying customers under
    key 0 as (customers, customers): one query over CohortStat (first kept day at least
    RETENTION_DAYS[N] days before today → eligible at N months; kept_months ≥ N → retained),
    corrected for the marked referrals (`due`, as in paying_customers). See
    tracking.services.referral_stats.RETENTION_DAYS."""
    cuts = {months: today - timedelta(days=days) for months, days in RETENTION_DAYS.items()}
    sums = {"c0": Sum("customers")}
    for months, cut in cuts.items():
        sums[f"e{months}"] = Sum("customers", filter=Q(first_day__lte=cut))
        sums[f"k{months}"] = Sum("customers", filter=Q(first_day__lte=cut, kept_months__gte=months))
    out: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(sums, 0))
    for found in CohortStat.objects.values("affiliate_id").annotate(**sums).order_by():
        row: dict[str, Any] = dict(found)
        out[row["affiliate_id"]] = {key: row[key] or 0 for key in sums}
    stored, live = due if due is not None else due_shares()
    for shares, sign in ((stored, -1), (live, 1)):
        for affiliate_id, days in shares:
            if affiliate_id is None or not days:
                continue
            first, kept = days[0], kept_months(days[0], days[-1])
            per = out[affiliate_id]
            per["c0"] += sign
            for months, cut in cuts.items():
                if first <= cut:
                    per[f"e{months}"] += sign
                    per[f"k{months}"] += sign if kept >= months else 0
    return {
        a: {0: (v["c0"], v["c0"]), **{m: (v[f"e{m}"], v[f"k{m}"]) for m in RETENTION_DAYS}}
        for a, v in out.items()
        if v["c0"]
    }
