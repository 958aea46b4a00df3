"""Who qualifies for the automatic perks (the jobs; affiliates.perks writes the rows).

- Early access (daily): an approved affiliate with an honoured click or a new referral in
  the last settings.EARLY_ACCESS_ACTIVE_DAYS days (30). Clicks are read from the daily
  rollups (tracking.DailyStat, by its day index), referrals by their created_at index: never
  a scan of the raw clicks. The window is the rollup days from (now − 30 days)'s UTC day to
  today, and referrals created at or after now − 30 days.
- Two-weekly payouts (monthly, the 1st, before the payout run): an approved affiliate
  whose last calendar month's sales are above settings.TWO_WEEKLY_PAYOUT_SALES ($1,000.00:
  $1,000.01 and more, as the tiers read "over $1,000"). "Sales" are what the tiers use
  (commissions.rules.previous_month_sales): the payments, net of tax and before refunds, of
  the customers it referred or helped as their employee, in the program currency at each
  payment's recorded rate (a payment still waiting for its rate counts 0), summed here for
  every affiliate in one grouped query over last month's payments.

An automatic grant the affiliate no longer qualifies for is taken back on the next run;
a value set by hand is never touched (affiliates.perks).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Sum

from affiliates.perks import PerkResult, sync_perk
from commissions import rules
from commissions.models import Payment
from tracking.models import DailyStat, Referral


def active_affiliates(*, now: datetime) -> dict[int, str]:
    """affiliate id → why it is active (a click, a new referral) in the window."""
    since = now - timedelta(days=settings.EARLY_ACCESS_ACTIVE_DAYS)
    active: dict[int, str] = {}
    for pk in (
        Referral.objects.filter(created_at__gte=since, affiliate__isnull=False)
        .values_list("affiliate_id", flat=True)
        .distinct()
    ):
        active[pk] = "a new referral"
    for pk in (
        DailyStat.objects.filter(day__gte=since.date(), day__lte=now.date(), clicks__gt=0)
        .values_list("affiliate_id", flat=True)
        .distinct()
    ):
        active.setdefault(pk, "a click")
    return active


def last_month_sales(*, now: datetime) -> dict[int, int]:
    """affiliate id → its sales in the calendar month (UTC) before `now`'s, in program-
    currency minor units, as rules.previous_month_sales sums them for one affiliate."""
    start, end = rules.previous_month(now)
    sales: dict[int, int] = defaultdict(int)
    rows = (
        Payment.objects.filter(paid_at__gte=start, paid_at__lt=end)
        .values_list("referral__affiliate_id", "referral__employee_id")
        .annotate(total=Sum("program_amount"))
        .order_by()
    )
    for affiliate_id, employee_id, total in rows:
        # Counted once for the affiliate and once for the employee (once when the same).
        for pk in {affiliate_id, employee_id} - {None}:
            sales[pk] += total or 0
    return dict(sales)


def refresh_early_access(*, now: datetime) -> PerkResult:
    active = active_affiliates(now=now)
    return sync_perk(perk="early_access", holders=set(active), reasons=active, now=now)


def grant_two_weekly_payouts(*, now: datetime) -> PerkResult:
    threshold = settings.TWO_WEEKLY_PAYOUT_SALES
    passing = {pk: total for pk, total in last_month_sales(now=now).items() if total > threshold}
    month = rules.previous_month(now)[0]
    reasons = {
        pk: f"{month:%Y-%m} sales {total} {settings.PROGRAM_CURRENCY} > {threshold}"
        for pk, total in passing.items()
    }
    return sync_perk(perk="two_weekly_payouts", holders=set(passing), reasons=reasons, now=now)
