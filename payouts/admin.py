"""Payout runs, payouts, accounts, PayPal batches and events in admin.

Acting needs the change permission (`@admin.action(permissions=["change"])`): program
managers have it; the Support group has only view permissions, so it sees and cannot act."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.utils import timezone

from payouts import services
from payouts.models import (
    Payout,
    PayoutAccount,
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
    fields = ("affiliate", "currency", "amount", "reason")
    readonly_fields = fields


@admin.register(PayoutRun)
class PayoutRunAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "started_at",
        "state",
        "two_weekly_only",
        "payout_count",
        "totals",
        "carried_count",
    )
    list_filter = ("state", "two_weekly_only")
    readonly_fields = [f.name for f in PayoutRun._meta.fields]
    inlines = [PayoutSkipInline]
    actions = ["approve_runs"]

    def has_add_permission(self, request) -> bool:
        return False

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


class ReferenceActionForm(ActionForm):
    reference = forms.CharField(required=False, help_text="Payment reference (for 'mark paid').")


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "affiliate",
        "amount",
        "currency",
        "method",
        "state",
        "provider_status",
        "created_at",
        "paid_at",
    )
    list_filter = ("state", "method", "currency", "run")
    search_fields = ("affiliate__username", "affiliate__user__email", "provider_id", "reference")
    readonly_fields = [f.name for f in Payout._meta.fields]
    inlines = [PayoutItemInline]
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
        except services.ServiceError as exc:
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
        except services.ServiceError as exc:
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
    readonly_fields = (
        "affiliate",
        "paypal_confirm_token",
        "stripe_account_id",
        "stripe_checked_at",
        "details_changed_at",
        "updated_at",
    )
    action_form = ReferenceActionForm
    actions = ["hold", "release"]

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
    readonly_fields = [f.name for f in PayPalEvent._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
