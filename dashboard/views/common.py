"""What every dashboard view shares: today's UTC day, the period from the query string, and
the staff-only guard."""

from __future__ import annotations

from datetime import UTC, date
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboard import selectors
from dashboard.selectors import Period


def today() -> date:
    # Rollups are per UTC day.
    return timezone.now().astimezone(UTC).date()


def request_period(request: HttpRequest) -> Period:
    return selectors.period_from_query(request.GET, today=today())


def staff_required(view):
    """Staff only: anonymous users go to the login page, logged-in non-staff get a 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_active and request.user.is_staff):
            return render(
                request,
                "affiliates/refused.html",
                {"reason": _("The program dashboard is for the program's staff.")},
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapper
