"""ROI by month on the staff's program dashboard (/dashboard/program/, the "ROI by month"
table) and its CSV (/dashboard/program/roi-by-month.csv).

Per calendar month (UTC) of the window, in settings.PROGRAM_CURRENCY minor units:
- referred revenue and commissions: the money rollup (tracking.DailyStat, written by
  commissions.rollups from the payments and the ledger), so a month holds what belongs to
  its days by the ledger's day rule (a payment and every entry tied to it on the day the
  customer paid, a signup bounty on the signup's day, anything else on the day it was
  written). Revenue is net of tax and refunds; commissions are net: every entry not
  declined, clawbacks (negative) included, each converted at its recorded rate — the same
  figures as the page's tiles, so the window's total equals the tiles for the same days.
  The rollup rather than the ledger's own (commissions.LedgerDay) because LedgerDay keeps
  each currency apart and ROI needs both sides in the program currency.
- payouts: payouts paid in the month (by paid_at), in the program currency (payouts in
  other currencies are in the "Commissions and payouts" card, per currency);
- ROI: (referred revenue − commissions) ÷ commissions in percent, "—" when commissions are 0.

The window (the issue says "the last 12 months, or the chosen period's months"): for the
short presets (today, 7, 30, 90 days — the default) the 12 calendar months ending with the
period's month, the current one up to today; for "all time" and a custom range, the months
the period touches, the first and last clipped to the period's days (each row says its
days). Two queries whatever the data size or the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Sum
from django.db.models.functions import TruncMonth

from dashboard.selectors.period import Period
from dashboard.selectors.program import percent_text
from payouts.models import Payout
from tracking.models import DailyStat

ROI_MONTHS = 12
# Ranges whose own months are too few for a monthly table: these show the last ROI_MONTHS.
SHORT_RANGES = ("today", "7", "30", "90")


@dataclass
class RoiMonth:
    """One month's row (or the window's total, `month` None): days `start` … `end`."""

    month: date | None
    start: date
    end: date
    revenue: int = 0
    commission: int = 0
    payouts: int = 0

    @property
    def roi(self) -> str:
        """Percent to a tenth without the sign ("355.0"), "—" when commissions are 0."""
        return percent_text(self.revenue - self.commission, self.commission)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    year, month = divmod(day.year * 12 + day.month, 12)
    return date(year, month + 1, 1)


def roi_window(period: Period) -> tuple[date, date]:
    """The first and last UTC day the table covers (see the module docstring)."""
    if period.key not in SHORT_RANGES:
        return period.start, period.end
    year, month = divmod(period.end.year * 12 + period.end.month - 1 - (ROI_MONTHS - 1), 12)
    return date(year, month + 1, 1), period.end


def _as_date(value: date | datetime) -> date:
    # TruncMonth gives a date for a DateField, an aware datetime for a DateTimeField.
    return value.astimezone(UTC).date() if isinstance(value, datetime) else value


def roi_by_month(*, start: date, end: date) -> tuple[list[RoiMonth], RoiMonth]:
    """(one row per calendar month from start's to end's, oldest first, months without
    money as zeros; the window's total). Two queries."""
    currency = settings.PROGRAM_CURRENCY
    rows: dict[date, RoiMonth] = {}
    month = _month_start(start)
    while month <= end:
        last = _next_month(month) - timedelta(days=1)
        rows[month] = RoiMonth(month=month, start=max(month, start), end=min(last, end))
        month = _next_month(month)
    money = (
        DailyStat.objects.filter(day__gte=start, day__lte=end)
        .annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(revenue=Sum("revenue"), commission=Sum("commission"))
        .order_by()
    )
    for found in money:
        row = rows[_as_date(found["month"])]
        row.revenue, row.commission = found["revenue"] or 0, found["commission"] or 0
    after_end = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    paid = (
        Payout.objects.filter(
            state=Payout.State.PAID,
            currency=currency,
            paid_at__gte=datetime.combine(start, time.min, tzinfo=UTC),
            paid_at__lt=after_end,
        )
        .annotate(month=TruncMonth("paid_at", tzinfo=UTC))
        .values("month")
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    for sent in paid:
        rows[_as_date(sent["month"])].payouts = sent["amount"] or 0
    months = list(rows.values())
    total = RoiMonth(
        month=None,
        start=start,
        end=end,
        revenue=sum(r.revenue for r in months),
        commission=sum(r.commission for r in months),
        payouts=sum(r.payouts for r in months),
    )
    return months, total
