"""The periodic e-mails: the daily digest of new commissions and the monthly report. Each is
sent at most once per affiliate and period (SentEmail), so the beat entries may run twice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from affiliates.models import Affiliate
from commissions.models import CommissionEntry
from config.emails import send_to_affiliate
from emails.models import SentEmail

DIGEST = "commission_digest"
REPORT = "monthly_report"
LEADERBOARD_TOP = 3


def _mark_sent(*, affiliate: Affiliate, name: str, period: str, now: datetime) -> bool:
    """Claim (affiliate, name, period); False when it was sent already (or is being sent by
    a concurrent run, which then owns it)."""
    try:
        with transaction.atomic():
            SentEmail.objects.create(affiliate=affiliate, name=name, period=period, sent_at=now)
    except IntegrityError:
        return False
    return True


# --- daily digest -------------------------------------------------------------------------


def digest_context(*, day: date, entries: Iterable[CommissionEntry]) -> dict[str, Any]:
    entries = list(entries)
    totals: dict[str, int] = defaultdict(int)
    for entry in entries:
        totals[entry.currency] += entry.amount  # a sum per currency, never across
    return {
        "day": day,
        "entries": entries,
        "count": len(entries),
        "totals": sorted(totals.items()),
    }


def send_commission_digests(*, day: date, now: datetime) -> int:
    """One e-mail per affiliate with entries written on UTC `day` (every kind: a clawback is
    news too), listing them with their count and totals per currency. Affiliates who turned
    the digest off get nothing and no marker (turning it back on later does not resend).
    Returns the number of e-mails queued."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    day_entries = CommissionEntry.objects.filter(
        created_at__gte=start, created_at__lt=start + timedelta(days=1)
    )
    period = day.isoformat()
    done = SentEmail.objects.filter(name=DIGEST, period=period).values("affiliate_id")
    affiliates = (
        Affiliate.objects.filter(
            pk__in=day_entries.values("affiliate_id"), email_commission_digest=True
        )
        .exclude(pk__in=done)
        .select_related("user")
        .order_by("pk")
    )
    sent = 0
    for affiliate in affiliates:
        with transaction.atomic():
            if not _mark_sent(affiliate=affiliate, name=DIGEST, period=period, now=now):
                continue
            entries = day_entries.filter(affiliate=affiliate).order_by("created_at", "pk")
            context = digest_context(day=day, entries=entries)
            sent += send_to_affiliate(DIGEST, affiliate=affiliate, context=context)
    return sent


# --- monthly report -----------------------------------------------------------------------


@dataclass(frozen=True)
class MonthlyReport:
    month: date  # its first day
    clicks: int
    signups: int
    upgrades: int  # first payments: referred customers who became paying ones
    earnings: list[tuple[str, int]]  # (currency, minor units) earned in the month
    tier_number: int | None  # the tier last month's sales earn this month; None: flat rates
    plan_name: str
    leaderboard: list[tuple[int, str, int]] = field(default_factory=list)  # rank, name, revenue
    leaderboard_currency: str = ""
    your_rank: int | None = None


def month_before(day: date) -> date:
    first = day.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def monthly_report(*, affiliate: Affiliate, month: date, now: datetime) -> MonthlyReport:
    """Last month's figures for one affiliate, read through the dashboard's selectors (the
    same numbers its overview shows for that month)."""
    from dashboard.selectors import leaderboard
    from dashboard.selectors.overview import period_earnings, plan_summary
    from dashboard.selectors.period import Period
    from dashboard.selectors.rollups import period_totals

    next_month = (month + timedelta(days=32)).replace(day=1)
    days = (next_month - month).days
    period = Period(days=days, start=month, end=next_month - timedelta(days=1), key="custom")
    totals = period_totals(period=period, affiliate_id=affiliate.pk)
    earned = period_earnings(period=period, affiliate_id=affiliate.pk)
    plan = plan_summary(affiliate=affiliate, now=now)
    (contest,) = leaderboard.contests_for(affiliate)
    rows = leaderboard.winners_rows(month=month, contest=contest, viewer=affiliate)
    if not rows:  # not awarded (no budget, or the award has not run): the standings
        rows = leaderboard.standings_rows(month=month, contest=contest, viewer=affiliate)
    mine = next((r.rank for r in rows if r.is_you), None)
    return MonthlyReport(
        month=month,
        clicks=totals["clicks"],
        signups=totals["signups"],
        upgrades=totals["first_payments"],
        earnings=[(e.currency, e.total) for e in earned],
        tier_number=plan.tier.number if plan and plan.tier and len(plan.tiers) > 1 else None,
        plan_name=plan.name if plan else "",
        leaderboard=[(r.rank, r.name, r.revenue) for r in rows[:LEADERBOARD_TOP]],
        leaderboard_currency=leaderboard.currency(),
        your_rank=mine,
    )


def send_monthly_reports(*, month: date, now: datetime) -> int:
    """The report for `month` to every approved affiliate who keeps it on, once each."""
    period = month.strftime("%Y-%m")
    done = SentEmail.objects.filter(name=REPORT, period=period).values("affiliate_id")
    affiliates = (
        Affiliate.objects.filter(status=Affiliate.Status.APPROVED, email_monthly_report=True)
        .exclude(pk__in=done)
        .select_related("user", "plan")
        .order_by("pk")
    )
    sent = 0
    for affiliate in affiliates.iterator(chunk_size=500):
        with transaction.atomic():
            if not _mark_sent(affiliate=affiliate, name=REPORT, period=period, now=now):
                continue
            report = monthly_report(affiliate=affiliate, month=month, now=now)
            sent += send_to_affiliate(REPORT, affiliate=affiliate, context={"report": report})
    return sent
