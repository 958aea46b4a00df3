"""An earner's sales per UTC calendar month as the commission tiers count them
(commissions.rules.previous_month_sales: the program amounts, before refunds, of the
payments of the customers it referred or was named employee for), for the overview's tier
progress: read from tracking's MonthlySalesStat, which the referral summary sweeper keeps
(tracking.services.set_referral_stats), never from a sum over a month of payments.

Referrals marked for the sweeper (ReferralStatDue) may be stale in the counter: their
stored share (Referral.stat_kept) is taken back out and their payments are read live, as
dashboard.selectors.customers does for the customer counters. So the figure equals
previous_month_sales whenever it is read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any

from django.db.models import BigIntegerField, F, OuterRef, Subquery, Sum

from commissions import rules
from commissions.models import Payment
from tracking.models import MonthlySalesStat, ReferralStatDue
from tracking.services import earners, stored_sales


def monthly_sales(*, affiliate_id: int, months: Iterable[date]) -> dict[date, int]:
    """{first day of a UTC month: the affiliate's sales that month} for the given months
    (each a month's first day). Two queries: the counter's rows, and the sweeper's backlog
    with each marked referral's stored share, its earners now and its payments' sum in
    each month (a correlated sum per month over the referral's own payments)."""
    wanted = sorted(set(months))
    totals: Counter = Counter(dict.fromkeys(wanted, 0))
    if not wanted:
        return {}
    for month, sales in MonthlySalesStat.objects.filter(
        affiliate_id=affiliate_id, month__in=wanted
    ).values_list("month", "sales"):
        totals[month] += sales
    live = {
        f"m{n}": Subquery(
            Payment.objects.filter(
                referral_id=OuterRef("referral_id"),
                paid_at__gte=_instant(month),
                paid_at__lt=rules.add_months(_instant(month), 1),
            )
            .order_by()
            .values("referral_id")
            .annotate(total=Sum("program_amount"))
            .values("total"),
            output_field=BigIntegerField(),
        )
        for n, month in enumerate(wanted)
    }
    marked = (
        ReferralStatDue.objects.values("referral_id")
        .annotate(
            stored=F("referral__stat_kept"),
            affiliate=F("referral__affiliate_id"),
            employee=F("referral__employee_id"),
            **live,
        )
        .order_by()
    )
    seen: set[int] = set()
    for found in marked:
        row: dict[str, Any] = dict(found)
        if row["referral_id"] in seen:  # marks are not unique: one correction per referral
            continue
        seen.add(row["referral_id"])
        who, stored = stored_sales(row["stored"])
        if affiliate_id in who:
            for month, n in stored.items():
                if month in totals:
                    totals[month] -= n
        if affiliate_id in earners(row["affiliate"], row["employee"]):
            for n, month in enumerate(wanted):
                totals[month] += row[f"m{n}"] or 0
    return dict(totals)


def _instant(month: date) -> datetime:
    return datetime.combine(month, time(), tzinfo=UTC)
