"""Who may open which affiliate page: the affiliate itself, and a program manager logged in
as it (impersonation). Money-moving pages refuse impersonators."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from affiliates.models import Affiliate

IMPERSONATOR_SESSION_KEY = "impersonator_id"


def is_impersonating(request: HttpRequest) -> bool:
    return bool(getattr(request, "session", None) and request.session.get(IMPERSONATOR_SESSION_KEY))


def get_affiliate(request: HttpRequest) -> Affiliate | None:
    user = request.user
    if not user.is_authenticated:
        return None
    return Affiliate.objects.select_related("plan", "user").filter(user=user).first()


def affiliate_required(view):
    """A logged-in user with an Affiliate profile; anonymous users go to the login page,
    users without a profile to the application form. Sets `request.affiliate`."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        affiliate = get_affiliate(request)
        if affiliate is None:
            return redirect("affiliates-apply")
        request.affiliate = affiliate
        return view(request, *args, **kwargs)

    return wrapper


def refuse_when_impersonating(view):
    """For pages that move money or change where it goes (payout details): an impersonating
    program manager gets a 403 page; the affiliate must do it itself."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if is_impersonating(request):
            return render(
                request,
                "affiliates/refused.html",
                {
                    "reason": _(
                        "This page is not available while you are logged in as an affiliate."
                    )
                },
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapper
