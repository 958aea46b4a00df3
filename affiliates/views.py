"""Affiliate pages: sign up, apply, terms, username settings, and the impersonation switch.
Thin adapters: parse a form, call one service, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from affiliates import services
from affiliates.access import (
    IMPERSONATOR_SESSION_KEY,
    affiliate_required,
    get_affiliate,
    is_impersonating,
)
from affiliates.forms import ApplicationForm, SignupForm, UsernameChangeForm, add_service_error
from affiliates.models import Affiliate, User
from config.errors import ServiceError

# Impersonation logs in without a password: name the backend explicitly (axes' backend
# is first in AUTHENTICATION_BACKENDS and only guards authenticate()).
_MODEL_BACKEND = "affiliates.backends.EmailBackend"


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("affiliates-apply")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.create_user(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                now=timezone.now(),
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            login(request, user, backend=_MODEL_BACKEND)
            return redirect("affiliates-apply")
    return render(request, "registration/signup.html", {"form": form})


def apply(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        # An account comes first; the sign-up page brings the applicant back here.
        return redirect_to_login(request.get_full_path(), login_url=reverse("signup"))
    if get_affiliate(request) is not None:
        return redirect("dashboard")
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.submit_application(
                user=request.user,
                username=data["username"],
                website=data["website"],
                audience=data["audience"],
                promotion=data["promotion"],
                accepted_terms=data["accept_terms"],
                now=timezone.now(),
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            return redirect("dashboard")
    return render(request, "affiliates/apply.html", {"form": form})


def terms(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "affiliates/terms.html",
        {"program_name": settings.PROGRAM_NAME, "hold_days": settings.COMMISSION_HOLD_DAYS},
    )


@affiliate_required
def username_settings(request: HttpRequest) -> HttpResponse:
    affiliate = request.affiliate
    form = UsernameChangeForm(request.POST or None, affiliate=affiliate)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_username(
                affiliate=affiliate,
                new_username=form.cleaned_data["username"],
                now=timezone.now(),
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            return redirect("affiliates-settings")
    return render(
        request,
        "affiliates/settings.html",
        {
            "form": form,
            "affiliate": affiliate,
            "aliases": affiliate.usernames.exclude(name=affiliate.username),
        },
    )


@login_required
@require_POST
def impersonate_start(request: HttpRequest, public_id: str) -> HttpResponse:
    """A program manager opens the affiliate's dashboard as the affiliate. The session then
    belongs to the affiliate, remembering who is behind it (`impersonator_id`)."""
    affiliate = get_object_or_404(Affiliate.objects.select_related("user"), public_id=public_id)
    manager = request.user
    try:
        services.start_impersonation(actor=manager, affiliate=affiliate, now=timezone.now())
    except ServiceError as exc:
        return render(request, "affiliates/refused.html", {"reason": exc.message}, status=403)
    # login() flushes the session when the user changes, so remember the manager after it.
    login(request, affiliate.user, backend=_MODEL_BACKEND)
    request.session[IMPERSONATOR_SESSION_KEY] = manager.pk
    return redirect("dashboard")


@require_POST
def impersonate_stop(request: HttpRequest) -> HttpResponse:
    if not is_impersonating(request):
        return redirect("dashboard")
    manager = User.objects.filter(
        pk=request.session[IMPERSONATOR_SESSION_KEY], is_active=True
    ).first()
    affiliate = get_affiliate(request)
    if manager is None:
        request.session.flush()
        return redirect("login")
    services.stop_impersonation(actor=manager, affiliate=affiliate, now=timezone.now())
    login(request, manager, backend=_MODEL_BACKEND)
    request.session.pop(IMPERSONATOR_SESSION_KEY, None)
    if affiliate is not None:
        return redirect("admin:affiliates_affiliate_change", affiliate.pk)
    return redirect("admin:index")
