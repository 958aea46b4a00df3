"""The affiliate's overview page. Reads only (dashboard writes to nothing); every figure comes
from dashboard.selectors (rollups and the ledger).

An applicant (or a rejected applicant) sees what state the application is in instead of
zeros and links that do not earn yet; a suspended affiliate sees the figures under a notice
that its links earn nothing and payouts are held."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from affiliates.access import affiliate_required
from affiliates.models import Affiliate
from config.db_router import replica_reads
from dashboard import charts, selectors
from dashboard.selectors import PERIOD_CHOICES, Period
from dashboard.selectors import overview as reads
from dashboard.views.common import request_period


def _charts(
    period: Period, series: list[dict[str, Any]], earnings: list[reads.Earnings]
) -> list[dict[str, Any]]:
    days = period.each_day()
    out = [
        charts.line_chart(
            title=_("Clicks"),
            days=days,
            series=[
                charts.Series(_("Clicks"), [row["clicks"] for row in series]),
                charts.Series(_("Unique clicks"), [row["unique_clicks"] for row in series]),
            ],
            chart_id="clicks",
        ),
        charts.bar_chart(
            title=_("Signups and upgrades"),
            days=days,
            series=[
                charts.Series(_("Signups"), [row["signups"] for row in series]),
                charts.Series(_("Upgrades"), [row["first_payments"] for row in series]),
            ],
            chart_id="conversions",
        ),
    ]
    # One earnings chart per currency (no sum across currencies); the program currency's
    # zeros when nothing was earned yet, so the chart is always there.
    for item in earnings or [reads.Earnings(settings.PROGRAM_CURRENCY, daily=[0] * len(days))]:
        out.append(
            charts.bar_chart(
                title=_("Earnings (%(currency)s)") % {"currency": item.currency},
                days=days,
                series=[charts.Series(_("Earned"), item.daily)],
                money_currency=item.currency,
                chart_id=f"earnings-{item.currency.lower()}",
            )
        )
    return out


def _applicant(request: HttpRequest, affiliate: Affiliate) -> HttpResponse:
    return render(request, "dashboard/applicant.html", {"affiliate": affiliate})


@replica_reads
@affiliate_required
def home(request: HttpRequest) -> HttpResponse:
    affiliate = request.affiliate
    if affiliate.status in (Affiliate.Status.APPLIED, Affiliate.Status.REJECTED):
        return _applicant(request, affiliate)
    now = timezone.now()
    period = request_period(request)
    series = selectors.daily_series(period=period, affiliate_id=affiliate.pk)
    totals = {f: sum(row[f] for row in series) for f in selectors.TOTAL_FIELDS}
    earnings = reads.period_earnings(period=period, affiliate_id=affiliate.pk)
    program = settings.PROGRAM_CURRENCY
    single = all(e.currency == program for e in earnings)
    # One currency: the ledger's own sum. Several: the rollups' sum, which is the same
    # ledger rows converted at each payment's recorded rate (commissions/rollups.py), with
    # the per-currency ledger figures beside it.
    earned = sum(e.total for e in earnings) if single else totals["commission"]
    return render(
        request,
        "dashboard/home.html",
        {
            "affiliate": affiliate,
            "aliases": affiliate.usernames.exclude(name=affiliate.username).order_by("created_at"),
            "coupons": affiliate.coupons.filter(is_active=True).order_by("code"),
            "period": period,
            "period_choices": PERIOD_CHOICES,
            "totals": totals,
            "totals_currency": program,
            "earned": earned,
            "converted": not single,
            "home_link": f"{settings.SITE_URL}/{affiliate.username}",
            "earnings": earnings,
            "charts": _charts(period, series, earnings),
            "balances": selectors.balances(affiliate_id=affiliate.pk),
            "plan": reads.plan_summary(affiliate=affiliate, now=now),
            "payout": reads.payout_forecast(affiliate=affiliate, now=now),
            "top_paths": selectors.top_paths(period=period, affiliate_id=affiliate.pk),
            "top_referrers": selectors.top_referrers(period=period, affiliate_id=affiliate.pk),
            "entries": selectors.latest_entries(affiliate_id=affiliate.pk),
        },
    )
