"""The staff's program dashboard. Reads only; every figure comes from dashboard.selectors."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard import selectors
from dashboard.selectors import PERIOD_CHOICES
from dashboard.views.common import request_period, staff_required


@staff_required
def program(request: HttpRequest) -> HttpResponse:
    period = request_period(request)
    return render(
        request,
        "dashboard/program.html",
        {
            "period": period,
            "period_choices": PERIOD_CHOICES,
            "currency": settings.PROGRAM_CURRENCY,
            "totals": selectors.period_totals(period=period),
            "top_affiliates": selectors.top_affiliates(period=period),
            "top_paths": selectors.top_paths(period=period, limit=10),
            "top_referrers": selectors.top_referrers(period=period, limit=10),
            "status_counts": selectors.affiliate_status_counts(),
        },
    )
