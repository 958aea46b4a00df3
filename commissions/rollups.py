"""Money columns of the tracking app's daily rollups: first payments (upgrades), revenue
and commission per affiliate per day, in the program currency (each payment at its
recorded rate). Written through `tracking.services.set_daily_money` when it exists."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, Sum

from commissions.models import CommissionEntry, Payment
from commissions.money import convert

logger = logging.getLogger(__name__)


def daily_money_rows(*, start: datetime, end: datetime) -> list[tuple[int, date, int, int, int]]:
    """(affiliate_id, day, first_payments, revenue, commission) for payments paid in
    [start, end), days in UTC. Revenue is net of tax; commission counts every entry the
    payments produced that is not declined (clawbacks included)."""
    money: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0, 0])
    payments = (
        Payment.objects.filter(
            paid_at__gte=start, paid_at__lt=end, referral__affiliate__isnull=False
        )
        .values("referral__affiliate_id", "paid_at__date")
        .annotate(first=Count("pk", filter=Q(is_first=True)), revenue=Sum("program_amount"))
    )
    for row in payments:
        key = (row["referral__affiliate_id"], row["paid_at__date"])
        money[key][0] += row["first"]
        money[key][1] += row["revenue"] or 0
    entries = (
        CommissionEntry.objects.filter(payment__paid_at__gte=start, payment__paid_at__lt=end)
        .exclude(state=CommissionEntry.State.DECLINED)
        .values_list("affiliate_id", "payment__paid_at", "amount", "fx_rate")
    )
    for affiliate_id, paid_at, amount, fx_rate in entries.iterator(chunk_size=5000):
        money[(affiliate_id, paid_at.date())][2] += convert(amount, fx_rate or 1)
    return [(a, d, *values) for (a, d), values in sorted(money.items())]


def refresh_daily_money(*, now: datetime, days: int = 2) -> int:
    """Recompute the last `days` days (UTC). Returns rows written (0 if tracking has no
    `set_daily_money` yet)."""
    try:
        from tracking.services import set_daily_money  # type: ignore[attr-defined]
    except ImportError:
        return 0
    day0 = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = daily_money_rows(start=day0, end=now + timedelta(seconds=1))
    set_daily_money(rows=rows)
    return len(rows)
