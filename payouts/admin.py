"""Payout runs, payouts (with their items and history), accounts, PayPal batches and events
in admin.

Acting needs the change permission (`@admin.action(permissions=["change"])`): program
managers have it; the Support group has only view permissions, so it sees and cannot act."""

from __future__ import annotations

import json

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

from config.errors import ServiceError
from config.money import format_money
from payouts import services
from payouts.forms import StaffChangeForm
from payouts.models import (
    Payout,
    PayoutAccount,
    PayoutEvent,
    PayoutItem,
    PayoutRun,
    PayoutSkip,
    PayPalBatch,
    PayPalEvent,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class PayoutSkipInline(ReadOnlyInline):
    model = PayoutSkip
    fields = ("affiliate", "currency", "held_amount", "reason")
    readonly_fields = fields

    @admin.display(description="Amount")
    def held_amount(self, obj: PayoutSkip) -> str:
        return format_money(obj.amount, obj.currency)


@admin.register(PayoutRun)
class PayoutRunAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "started_at",
        "state",
        "two_weekly_only",
        "payout_count",
        "totals_display",
        "carried_count",
    )
    list_filter = ("state", "two_weekly_only")
    # The raw {"USD": 19065} is replaced by its money display, and stays read-only.
    exclude = ("totals",)
    readonly_fields = [f.name for f in PayoutRun._meta.fields if f.name != "totals"] + [
        "totals_display"
    ]
    inlines = [PayoutSkipInline]
    actions = ["approve_runs"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Totals")
    def totals_display(self, obj: PayoutRun) -> str:
        # One figure per currency, never summed across currencies.
        return ", ".join(format_money(v, c) for c, v in sorted((obj.totals or {}).items())) or "—"

    @admin.action(description="Approve selected runs (send their payouts)", permissions=["change"])
    def approve_runs(self, request, queryset):
        now = timezone.now()
        count = sum(
            services.approve_run(run_id=run.pk, actor=request.user, now=now) for run in queryset
        )
        self.message_user(request, f"{count} payouts approved for sending.")


class PayoutItemInline(ReadOnlyInline):
    model = PayoutItem
    fields = ("entry", "amount", "live")
    readonly_fields = fields
    raw_id_fields = ("entry",)


class PayoutEventInline(ReadOnlyInline):
    """The payout's history, newest first, as appended by the services: nobody adds,
    changes or deletes a row here (the model refuses it too)."""

    model = PayoutEvent
    # Compact columns, so the history fits beside the payout at 1366 px: what happened (kind
    # and state move), who or what caused it, the provider's status and reference, the
    # idempotency key, the error, and the JSON sent / received folded in a <details>.
    fields = (
        "created_at",
        "change",
        "cause",
        "provider",
        "idempotency_key",
        "error",
        "sent_json",
        "received_json",
    )
    readonly_fields = fields
    ordering = ("-created_at", "-pk")
    # What was sent and answered names the receiver (PayPal e-mail, Connect account):
    # shown only to those who may export destinations, as on the payout itself.
    DESTINATION_FIELDS = ("sent_json", "received_json")

    @admin.display(description="What")
    def change(self, obj: PayoutEvent) -> str:
        move = f"{obj.from_state or '—'} → {obj.to_state}" if obj.to_state else ""
        return format_html("{}<br><small>{}</small>", obj.get_kind_display(), move)

    @admin.display(description="Caused by")
    def cause(self, obj: PayoutEvent) -> str:
        return format_html("{}<br><small>{}</small>", obj.actor or "", obj.source)

    @admin.display(description="Provider status / reference")
    def provider(self, obj: PayoutEvent) -> str:
        return format_html("{}<br><small>{}</small>", obj.provider_status, obj.provider_reference)

    @admin.display(description="Sent")
    def sent_json(self, obj: PayoutEvent) -> str:
        return _folded_json(obj.sent)

    @admin.display(description="Received")
    def received_json(self, obj: PayoutEvent) -> str:
        return _folded_json(obj.received)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if request.user.has_perm("payouts.export_payout_destinations"):
            return fields
        return [f for f in fields if f not in self.DESTINATION_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


def _folded_json(value: object) -> str:
    if not value:
        return "—"
    text = json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)
    return format_html(
        '<details><summary>JSON</summary><pre style="max-width:24em;white-space:pre-wrap;'
        'word-break:break-all;margin:0">{}</pre></details>',
        text,
    )


class ReferenceActionForm(ActionForm):
    reference = forms.CharField(required=False, help_text="Payment reference (for 'mark paid').")


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "affiliate",
        "amount_display",
        "method",
        "state",
        "provider_status",
        "created_at",
        "paid_at",
    )
    list_filter = ("state", "method", "currency", "run")
    search_fields = ("affiliate__username", "affiliate__user__email", "provider_id", "reference")
    readonly_fields = [f.name for f in Payout._meta.fields]
    inlines = [PayoutItemInline, PayoutEventInline]
    action_form = ReferenceActionForm
    actions = ["mark_paid", "fail_unknown", "retry_failed"]
    list_select_related = ("affiliate",)
    # The destination snapshot (and the provider's answer, which names the receiver) is for
    # those who may export destinations, Program managers; Support reads payouts without.
    DESTINATION_FIELDS = (
        "destination",
        "bank_details",
        "tax_legal_name",
        "tax_country",
        "tax_id",
        "tax_form",
        "provider_response",
    )

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if request.user.has_perm("payouts.export_payout_destinations"):
            return fields
        return [f for f in fields if f not in self.DESTINATION_FIELDS]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: Payout) -> str:
        return format_money(obj.amount, obj.currency)

    @admin.action(
        description="Mark paid manually (with the reference below)", permissions=["change"]
    )
    def mark_paid(self, request, queryset):
        reference = request.POST.get("reference", "")
        try:
            done = services.mark_paid_manually(
                payout_ids=list(queryset.values_list("pk", flat=True)),
                reference=reference,
                actor=request.user,
                now=timezone.now(),
            )
        except ServiceError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        self.message_user(request, f"{done} payouts marked paid.")

    @admin.action(
        description="Unknown payouts not paid at the provider: mark failed (reason below)",
        permissions=["change"],
    )
    def fail_unknown(self, request, queryset):
        try:
            done = services.fail_unknown_payouts(
                payout_ids=list(queryset.values_list("pk", flat=True)),
                reason=request.POST.get("reference", ""),
                actor=request.user,
                now=timezone.now(),
            )
        except ServiceError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        self.message_user(request, f"{done} unknown payouts marked failed.")

    @admin.action(description="Retry failed payouts now", permissions=["change"])
    def retry_failed(self, request, queryset):
        result = services.retry_failed(
            payout_ids=list(queryset.values_list("pk", flat=True)),
            actor=request.user,
            now=timezone.now(),
        )
        for line in result.lines:
            self.message_user(request, line)


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
class PayPalBatchAdmin(admin.ModelAdmin):
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
class PayPalEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "event_type", "received_at", "processed_at")
    list_filter = ("event_type",)
    # The raw bytes are for re-verifying in code; the parsed body shows the same.
    exclude = ("raw_body",)
    readonly_fields = [f.name for f in PayPalEvent._meta.fields if f.name != "raw_body"]

    def has_add_permission(self, request) -> bool:
        return False
