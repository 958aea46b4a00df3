"""Payout accounts (destinations: read-only, changed only through the services), PayPal
batches and PayPal events in admin. Imported by payouts.admin. Support has no view
permission on any of these (destinations, and PayPal's raw JSON naming receivers)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from affiliates.admin_display import NoDeleteMixin
from config.errors import ServiceError
from payouts import services
from payouts.forms import StaffChangeForm
from payouts.models import PayoutAccount, PayPalBatch, PayPalEvent


class ReferenceActionForm(ActionForm):
    reference = forms.CharField(required=False, help_text="Payment reference (for 'mark paid').")


@admin.register(PayoutAccount)
class PayoutAccountAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: a payout destination changes only
    through payouts.services (check, 48 h hold, audit, e-mail to the affiliate). Editing
    the fields here used to redirect the next payout silently. Managers use the action
    "Change payout destination…" (or the link on the page), which calls the services."""

    list_display = (
        "affiliate",
        "method",
        "paypal_email",
        "paypal_confirmed_at",
        "stripe_account_id",
        "stripe_payouts_enabled",
        "details_changed_at",
        "on_hold",
        "hold_reason",
    )
    list_filter = ("method", "on_hold", "stripe_payouts_enabled", "tax_form")
    search_fields = (
        "affiliate__username",
        "affiliate__user__email",
        "paypal_email",
        "stripe_account_id",
    )
    readonly_fields = [f.name for f in PayoutAccount._meta.fields] + ["change_destination"]
    action_form = ReferenceActionForm
    actions = ["change_destination_action", "hold", "release"]

    def has_add_permission(self, request) -> bool:
        return False  # an account is created with the affiliate's first change (services)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deleting would drop the destination without a hold or an audit

    def get_urls(self):
        return [
            path(
                "<int:account_id>/change-destination/",
                self.admin_site.admin_view(self.change_destination_view),
                name="payouts_payoutaccount_change_destination",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Change")
    def change_destination(self, obj: PayoutAccount) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("admin:payouts_payoutaccount_change_destination", args=[obj.pk])
        return format_html('<a href="{}">Change payout destination…</a>', url)

    @admin.action(description="Change payout destination…", permissions=["change"])
    def change_destination_action(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, "Select exactly one account to change.", level=messages.WARNING
            )
            return None
        url = reverse("admin:payouts_payoutaccount_change_destination", args=[queryset.get().pk])
        return HttpResponseRedirect(url)

    def change_destination_view(self, request, account_id: int):
        account = get_object_or_404(
            PayoutAccount.objects.select_related("affiliate__user"), pk=account_id
        )
        if not self.has_change_permission(request, account):
            raise PermissionDenied
        form = StaffChangeForm(request.POST or None, initial=self._initial(account))
        if request.method == "POST" and form.is_valid():
            try:
                self._apply(request, account, form.cleaned_data)
            except ServiceError as exc:
                for field, errors in (exc.fields or {}).items():
                    form.add_error(field if field in form.fields else None, errors)
                if not exc.fields:
                    form.add_error(None, exc.message)
            else:
                self.message_user(
                    request,
                    "Saved. The affiliate was e-mailed; payouts are held for "
                    f"{settings.PAYOUT_DETAILS_HOLD_HOURS} hours.",
                )
                return HttpResponseRedirect(
                    reverse("admin:payouts_payoutaccount_change", args=[account.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Change payout destination of {account.affiliate}",
            "account": account,
            "form": form,
            "hold_hours": settings.PAYOUT_DETAILS_HOLD_HOURS,
        }
        return TemplateResponse(
            request,
            "admin/payouts/payoutaccount/change_destination.html",
            context,
            status=400 if request.method == "POST" else 200,
        )

    @staticmethod
    def _initial(account: PayoutAccount) -> dict:
        return {
            "paypal_email": account.paypal_email,
            "bank_details": account.bank_details,
            "tax_legal_name": account.tax_legal_name,
            "tax_country": account.tax_country,
            "tax_id": account.tax_id,
            "tax_form": account.tax_form,
        }

    @staticmethod
    def _apply(request, account: PayoutAccount, data: dict) -> None:
        common = {
            "affiliate": account.affiliate,
            "now": timezone.now(),
            "staff": request.user,
            "reason": data["reason"],
        }
        if data["what"] == "paypal":
            services.set_paypal_email(email=data["paypal_email"], **common)
        elif data["what"] == "manual":
            services.set_manual_details(bank_details=data["bank_details"], **common)
        else:
            services.set_tax_details(
                legal_name=data["tax_legal_name"],
                country=data["tax_country"],
                tax_id=data["tax_id"],
                tax_form=data["tax_form"],
                **common,
            )

    @admin.action(
        description="Hold payouts (reason in the reference field)", permissions=["change"]
    )
    def hold(self, request, queryset):
        now = timezone.now()
        for account in queryset.select_related("affiliate"):
            services.hold_affiliate(
                affiliate=account.affiliate,
                reason=request.POST.get("reference", ""),
                actor=request.user,
                now=now,
            )
        self.message_user(request, f"{queryset.count()} affiliates held.")

    @admin.action(description="Release payout hold", permissions=["change"])
    def release(self, request, queryset):
        now = timezone.now()
        for account in queryset.select_related("affiliate"):
            services.release_affiliate(affiliate=account.affiliate, actor=request.user, now=now)
        self.message_user(request, f"{queryset.count()} affiliates released.")


@admin.register(PayPalBatch)
class PayPalBatchAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = (
        "sender_batch_id",
        "run",
        "state",
        "provider_batch_id",
        "provider_status",
        "attempts",
        "sent_at",
    )
    list_filter = ("state",)
    readonly_fields = [f.name for f in PayPalBatch._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(PayPalEvent)
class PayPalEventAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ("event_id", "event_type", "received_at", "processed_at")
    list_filter = ("event_type",)
    # The raw bytes are for re-verifying in code; the parsed body shows the same.
    exclude = ("raw_body",)
    readonly_fields = [f.name for f in PayPalEvent._meta.fields if f.name != "raw_body"]

    def has_add_permission(self, request) -> bool:
        return False
