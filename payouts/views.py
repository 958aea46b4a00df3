"""Affiliate payout settings, the PayPal confirmation link, Stripe onboarding return/refresh,
the PayPal webhook, and the admin's CSV exports. Thin: parse, call one service, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from affiliates.access import affiliate_required, is_impersonating, refuse_when_impersonating
from config.errors import ServiceError
from config.money import format_money, to_decimal_string
from config.spreadsheet import csv_writer
from config.webhooks import parse_event
from payouts import forms, selectors, services
from payouts.gateways.base import (
    InvalidConnectWebhook,
    PermanentError,
    ProviderNotConfigured,
    TransientError,
)
from payouts.gateways.registry import paypal_enabled, stripe_connect_enabled
from payouts.models import PayoutAccount


def _settings_context(request: HttpRequest, errors: dict | None = None) -> dict:
    affiliate = request.affiliate
    account = selectors.payout_account(affiliate=affiliate)
    now = timezone.now()
    payouts = selectors.payouts_for_affiliate(affiliate_id=affiliate.pk)
    return {
        "affiliate": affiliate,
        "account": account,
        "hold": selectors.hold_reason(affiliate=affiliate, account=account, now=now),
        "payouts": payouts,
        "errors": errors or {},
        "impersonating": is_impersonating(request),
        "paypal_available": paypal_enabled(),
        "stripe_available": stripe_connect_enabled(),
        "tax_forms": PayoutAccount.TaxForm.choices[1:],
        "threshold": format_money(affiliate.payout_threshold, settings.PROGRAM_CURRENCY),
    }


@affiliate_required
def payout_settings(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _change_settings(request)
    return render(request, "payouts/settings.html", _settings_context(request))


def _form_errors(request: HttpRequest, form: forms.PasswordForm) -> HttpResponse:
    errors = {field: list(msgs) for field, msgs in form.errors.items()}
    errors.setdefault("__all__", [_("Please correct the errors below.")])
    context = _settings_context(request, errors=errors)
    return render(request, "payouts/settings.html", context, status=400)


@refuse_when_impersonating
def _change_settings(request: HttpRequest) -> HttpResponse:
    """Each section posts its own `action`; its form bounds and checks every value (length,
    control characters, e-mail syntax) before the service runs, so a bad value is a 400
    with the page and its errors, and nothing is written."""
    affiliate = request.affiliate
    action = request.POST.get("action", "")
    form_class = forms.SETTINGS_FORMS.get(action)
    if form_class is None:
        context = _settings_context(request, errors={"__all__": [_("Unknown action.")]})
        return render(request, "payouts/settings.html", context, status=400)
    form = form_class(request.POST)
    if not form.is_valid():
        return _form_errors(request, form)
    data = form.cleaned_data
    password = data["password"]
    now = timezone.now()
    try:
        if action == "paypal":
            services.set_paypal_email(
                affiliate=affiliate, email=data["paypal_email"], password=password, now=now
            )
            messages.success(request, _("Check your PayPal inbox: we sent a confirmation link."))
        elif action == "manual":
            services.set_manual_details(
                affiliate=affiliate, bank_details=data["bank_details"], password=password, now=now
            )
            messages.success(
                request, _("Bank details saved. Payouts are held for 48 hours after a change.")
            )
        elif action == "stripe":
            base = request.build_absolute_uri("/")[:-1]
            url = services.start_stripe_onboarding(
                affiliate=affiliate,
                password=password,
                now=now,
                return_url=base + reverse("payouts-stripe-return"),
                refresh_url=base + reverse("payouts-stripe-refresh"),
            )
            return HttpResponseRedirect(url)
        elif action == "tax":
            services.set_tax_details(
                affiliate=affiliate,
                legal_name=data["tax_legal_name"],
                country=data["tax_country"],
                tax_id=data["tax_id"],
                tax_form=data["tax_form"],
                password=password,
                now=now,
            )
            messages.success(request, _("Tax details saved."))
    except (TransientError, PermanentError) as exc:
        messages.error(
            request,
            _("Stripe could not be reached (%(error)s). Try again later.") % {"error": exc.message},
        )
        return redirect("payouts-settings")
    except ServiceError as exc:
        context = _settings_context(request, errors={**exc.fields, "__all__": [exc.message]})
        return render(
            request,
            "payouts/settings.html",
            context,
            status=exc.status if exc.status < 500 else 400,
        )
    return redirect("payouts-settings")


@require_GET
def confirm_paypal(request: HttpRequest, token: str) -> HttpResponse:
    try:
        account = services.confirm_paypal_email(token=token, now=timezone.now())
    except ServiceError as exc:
        return render(request, "payouts/confirmed.html", {"error": exc.message}, status=404)
    return render(request, "payouts/confirmed.html", {"account": account})


@affiliate_required
@refuse_when_impersonating
def stripe_return(request: HttpRequest) -> HttpResponse:
    """Stripe sends the affiliate back here after onboarding (finished or not): re-read the
    account so the page shows whether payouts are enabled."""
    account = selectors.payout_account(affiliate=request.affiliate)
    if account.stripe_account_id:
        try:
            account = services.refresh_stripe_account(
                stripe_account_id=account.stripe_account_id, now=timezone.now()
            )
        except (TransientError, PermanentError, ProviderNotConfigured):
            messages.error(
                request, _("Could not read your Stripe account yet; it updates shortly.")
            )
            return redirect("payouts-settings")
        if account and account.stripe_payouts_enabled:
            messages.success(request, _("Stripe account ready: payouts will go there."))
        else:
            messages.warning(request, _("Stripe onboarding is not finished yet."))
    return redirect("payouts-settings")


@require_GET
@affiliate_required
@refuse_when_impersonating
def stripe_refresh(request: HttpRequest) -> HttpResponse:
    """Stripe's refresh URL: the Account Link expired or was reused. A GET, so it only makes
    a new link for the account the affiliate already has (creating accounts is the settings
    page's password-checked, CSRF-protected POST); without one, back to the settings page."""
    base = request.build_absolute_uri("/")[:-1]
    try:
        url = services.stripe_onboarding_link(
            affiliate=request.affiliate,
            return_url=base + reverse("payouts-stripe-return"),
            refresh_url=base + reverse("payouts-stripe-refresh"),
        )
    except (ServiceError, TransientError, PermanentError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("payouts-settings")
    if not url:
        messages.info(request, _("Set up Stripe payouts from this page first."))
        return redirect("payouts-settings")
    return HttpResponseRedirect(url)


def _json_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


@csrf_exempt
@require_POST
def stripe_connect_webhook(request: HttpRequest) -> JsonResponse:
    """Stripe Connect endpoint (connected accounts' events, `account.updated`): verify the
    raw body with the Connect secret, store once, answer 2xx; stage two handles it.
    The body's shape is checked first, as on the platform endpoint: a list, deep nesting or
    NaN after a valid signature ended in a 500 (and Stripe's retries with it)."""
    if not settings.STRIPE_CONNECT_WEBHOOK_SECRET:
        return _json_error("not_configured", "Stripe Connect webhooks are not configured.", 503)
    payload = parse_event(request.body, id_max=255, type_key="type", type_max=100)
    if payload is None or not isinstance(payload.get("created", 0), int):
        return _json_error("invalid", "Not a Stripe event.", 400)
    try:
        created = services.store_connect_event(
            payload=request.body,
            signature=request.headers.get("Stripe-Signature"),
            now=timezone.now(),
        )
    except ProviderNotConfigured:
        return _json_error("not_configured", "Stripe Connect webhooks are not configured.", 503)
    except InvalidConnectWebhook:
        return _json_error("invalid_signature", "Invalid Stripe-Signature.", 400)
    except ServiceError as exc:
        return _json_error(exc.code or "invalid", exc.message, 400)
    return JsonResponse({"received": True, "duplicate": not created})


@csrf_exempt
@require_POST
def paypal_webhook(request: HttpRequest) -> HttpResponse:
    """Verify (by asking PayPal), store once, answer 2xx; processing runs in a task.
    The body's shape is checked first: PayPalEvent's columns are 64 characters, and a list,
    deep nesting or an id that is not a string ended in a 500 after a valid signature."""
    if not paypal_enabled():
        return _webhook_error("not_configured", "PayPal is not configured.", 503)
    if parse_event(request.body, id_max=64, type_key="event_type", type_max=64) is None:
        return _webhook_error("invalid", "Not a PayPal webhook event.", 400)
    headers = {k: v for k, v in request.headers.items() if k.upper().startswith("PAYPAL-")}
    try:
        services.store_paypal_event(headers=headers, body=request.body, now=timezone.now())
    except ProviderNotConfigured:
        return _webhook_error("not_configured", "PayPal is not configured.", 503)
    except TransientError:  # PayPal resends
        return _webhook_error("unavailable", "Verification is unavailable; retry later.", 503)
    except (ServiceError, PermanentError, ValueError):
        return _webhook_error("invalid_signature", "The PayPal signature does not verify.", 400)
    return JsonResponse({"received": True})


def _webhook_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


@staff_member_required
def export_csv(request: HttpRequest, kind: str) -> HttpResponse:
    """Due payouts as CSV: `paypal` is PayPal's mass-pay upload (e-mail, amount, currency,
    unique id, note; no header), `generic` carries everything the admin needs to pay by hand.

    Both carry payout destinations, so both need `export_payout_destinations`, which only
    Program managers hold (Support reads payouts in admin but never their destinations).
    Every value comes from the payout's snapshot taken when the run created it, never from
    the live account: details changed since (even while still held) are not paid to. Cells
    go through config.spreadsheet: affiliates type some of these values."""
    if not request.user.has_perm("payouts.export_payout_destinations"):
        raise PermissionDenied
    if kind not in ("paypal", "generic"):
        raise Http404("No such export.")
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="payouts-{kind}.csv"'
    writer = csv_writer(response)
    if kind == "paypal":
        for payout in selectors.due_manual_payouts(method=PayoutAccount.Method.PAYPAL):
            writer.writerow(
                [
                    payout.destination,
                    to_decimal_string(payout.amount, payout.currency),
                    payout.currency,
                    payout.pk,
                    "Affiliate commissions",
                ]
            )
        return response
    writer.writerow(
        [
            "payout_id",
            "affiliate",
            "email",
            "method",
            "amount",
            "currency",
            "destination",
            "bank_details",
            "legal_name",
            "country",
            "tax_id",
            "tax_form",
            "created_at",
            "details_changed_since",
        ]
    )
    for payout in selectors.due_manual_payouts():
        account = getattr(payout.affiliate, "payout_account", None)
        # Tells the person paying that the affiliate changed its details after this payout
        # was created (the snapshot is still what gets paid; the change has its own hold).
        changed = bool(
            account
            and account.details_changed_at
            and account.details_changed_at > payout.created_at
        )
        writer.writerow(
            [
                payout.pk,
                payout.affiliate.username,
                payout.affiliate.user.email,
                payout.method,
                to_decimal_string(payout.amount, payout.currency),
                payout.currency,
                payout.destination,
                payout.bank_details,
                payout.tax_legal_name,
                payout.tax_country,
                payout.tax_id,
                payout.tax_form,
                payout.created_at.isoformat(),
                account.details_changed_at.isoformat() if changed else "",
            ]
        )
    return response
