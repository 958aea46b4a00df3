"""The affiliate's overview page. Reads only (dashboard writes to nothing); every figure comes
from dashboard.selectors (rollups and the ledger)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from affiliates.access import affiliate_required
from dashboard import selectors
from dashboard.selectors import PERIOD_CHOICES
from dashboard.views.common import request_period

CHART_HEIGHT = 80  # px of the tallest bar in the daily clicks chart


def _bars(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bar heights in whole pixels, scaled to the busiest day (integers only)."""
    top = max((row["clicks"] for row in series), default=0)
    bars = []
    for i, row in enumerate(series):
        height = row["clicks"] * CHART_HEIGHT // top if top else 0
        bars.append({**row, "x": i, "y": CHART_HEIGHT - height, "height": height})
    return bars


@affiliate_required
def home(request: HttpRequest) -> HttpResponse:
    affiliate = request.affiliate
    name = affiliate.username
    site = settings.SITE_URL
    share_links = [
        (f"{site}/{name}", "Your home page link"),
        (f"{site}/pricing/{name}", "Any page of the site: add your username at the end"),
        (f"{site}/blog/some-post/{name}", "A blog post"),
        (f"{site}/pricing?ref={name}", "Or as a ?ref= parameter"),
    ]
    period = request_period(request)
    series = selectors.daily_series(period=period, affiliate_id=affiliate.pk)
    return render(
        request,
        "dashboard/home.html",
        {
            "affiliate": affiliate,
            "aliases": affiliate.usernames.exclude(name=name).order_by("created_at"),
            "coupons": affiliate.coupons.filter(is_active=True).order_by("code"),
            "share_links": share_links,
            "period": period,
            "period_choices": PERIOD_CHOICES,
            "currency": settings.PROGRAM_CURRENCY,
            "totals": selectors.period_totals(period=period, affiliate_id=affiliate.pk),
            "days": list(reversed(series)),
            "bars": _bars(series),
            "chart_height": CHART_HEIGHT,
            "top_paths": selectors.top_paths(period=period, affiliate_id=affiliate.pk),
            "top_referrers": selectors.top_referrers(period=period, affiliate_id=affiliate.pk),
            "balances": selectors.balances(affiliate_id=affiliate.pk),
            "entries": selectors.latest_entries(affiliate_id=affiliate.pk),
        },
    )
