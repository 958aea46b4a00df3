"""Affiliate pages: sign up, apply, terms, settings (username, language, e-mails, password)
and the impersonation switch.
Thin adapters: parse a form, call one service, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from affiliates import services
from affiliates.access import (
    IMPERSONATOR_SESSION_KEY,
    affiliate_required,
    get_affiliate,
    is_impersonating,
)
from affiliates.forms import (
    ApplicationForm,
    EmailPreferencesForm,
    LanguageForm,
    LeaderboardForm,
    SignupForm,
    TestimonialForm,
    UsernameChangeForm,
    add_service_error,
)
from affiliates.middleware import remember_in_session
from affiliates.models import TESTIMONIAL_MAX_LENGTH, Affiliate, User
from affiliates.testimonials import render_testimonial, submit_testimonial
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


SETTINGS_ACTIONS = ("username", "language", "emails", "leaderboard", "password")


@affiliate_required
def username_settings(request: HttpRequest) -> HttpResponse:
    """The affiliate's settings: username, payout method (a summary; /payouts/settings/
    changes it), language, e-mail preferences, password. One form per section; the posted
    `action` says which one was sent (a plain POST with only `username` is a rename, as the
    page has always accepted)."""
    affiliate = request.affiliate
    posted = request.POST if request.method == "POST" else None
    action = (posted.get("action") or "username") if posted is not None else ""
    if action not in SETTINGS_ACTIONS:
        action = ""
    forms = {
        "username": UsernameChangeForm(
            posted if action == "username" else None, affiliate=affiliate
        ),
        "language": LanguageForm(
            posted if action == "language" else None,
            initial={"language": affiliate.language},
            prefix="lang",
        ),
        "emails": EmailPreferencesForm(
            posted if action == "emails" else None,
            initial={
                "commission_approved": affiliate.email_commission_approved,
                "payout_sent": affiliate.email_payout_sent,
                "monthly_report": affiliate.email_monthly_report,
                "commission_digest": affiliate.email_commission_digest,
            },
            prefix="emails",
        ),
        "leaderboard": LeaderboardForm(
            posted if action == "leaderboard" else None,
            initial={"opt_in": affiliate.leaderboard_opt_in},
            prefix="board",
        ),
        "password": PasswordChangeForm(
            request.user, posted if action == "password" else None, prefix="pw"
        ),
    }
    if action:
        response = _save_settings(request, action, forms[action])
        if response is not None:
            return response
    return render(
        request,
        "affiliates/settings.html",
        {
            "form": forms["username"],
            "language_form": forms["language"],
            "emails_form": forms["emails"],
            "leaderboard_form": forms["leaderboard"],
            "password_form": forms["password"],
            "affiliate": affiliate,
            "aliases": affiliate.usernames.exclude(name=affiliate.username),
            # The reverse one-to-one of the payouts app (no import: affiliates is below
            # payouts); None until the affiliate first sets a payout method.
            "payout_account": getattr(affiliate, "payout_account", None),
            "impersonating": is_impersonating(request),
        },
    )


def _save_settings(request: HttpRequest, action: str, form) -> HttpResponse | None:
    """Apply one posted section; a redirect on success, None to show the form's errors."""
    affiliate = request.affiliate
    if not form.is_valid():
        return None
    data = form.cleaned_data
    if action == "password" and is_impersonating(request):
        form.add_error(None, _("A password cannot be changed while impersonating."))
        return None
    try:
        if action == "username":
            services.change_username(
                affiliate=affiliate, new_username=data["username"], now=timezone.now()
            )
            messages.success(
                request,
                _(
                    "Your username is now “%(name)s”. Links with your earlier usernames keep "
                    "working."
                )
                % {"name": affiliate.username},
            )
        elif action == "language":
            services.set_language(affiliate=affiliate, language=data["language"])
            remember_in_session(request, affiliate.language)
            # The confirmation in the language just chosen ("" = the browser's).
            translation.activate(
                affiliate.language or translation.get_language_from_request(request)
            )
            messages.success(request, _("Language saved."))
        elif action == "emails":
            services.set_email_preferences(
                affiliate=affiliate,
                commission_approved=data["commission_approved"],
                payout_sent=data["payout_sent"],
                monthly_report=data["monthly_report"],
                commission_digest=data["commission_digest"],
            )
            messages.success(request, _("E-mail preferences saved."))
        elif action == "leaderboard":
            services.set_leaderboard_opt_in(affiliate=affiliate, opt_in=data["opt_in"])
            messages.success(request, _("Leaderboard preference saved."))
        else:
            form.save()
            # Changing the password rotates the session hash; keep this session logged in
            # (others are logged out, which is the point of changing it).
            update_session_auth_hash(request, form.user)
            messages.success(request, _("Your password was changed."))
    except ServiceError as exc:
        add_service_error(form, exc)
        return None
    response = redirect("affiliates-settings")
    if action == "language":
        # The cookie too, so pages after logging out stay in the chosen language.
        if affiliate.language:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, affiliate.language)
        else:
            response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response


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


@affiliate_required
def testimonial(request: HttpRequest) -> HttpResponse:
    """The affiliate's testimonial: its current one, its review status, and the form to
    submit or change it (a change goes back to review)."""
    affiliate = request.affiliate
    current = affiliate.testimonials.first()
    initial = {"text": current.text, "website": current.website} if current else {}
    form = TestimonialForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            submit_testimonial(
                affiliate=affiliate,
                text=form.cleaned_data["text"],
                website=form.cleaned_data["website"],
                now=timezone.now(),
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Thank you. We will review your testimonial shortly."))
            return redirect("affiliates-testimonial")
    return render(
        request,
        "affiliates/testimonial.html",
        {
            "form": form,
            "current": current,
            "preview": render_testimonial(current.text) if current else "",
            "max_length": TESTIMONIAL_MAX_LENGTH,
        },
    )
