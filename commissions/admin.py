"""Admin for payments, refunds, disputes, stored events, exchange rates and the ledger.
Ledger entries are read-only here: money never changes after insert, and state moves only
through the services (approval job, payouts)."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from commissions import ingest, services
from commissions.models import (
    CommissionEntry,
    Dispute,
    ExchangeRate,
    Payment,
    PlanChange,
    Refund,
    StoredEvent,
    StripeCustomerLink,
)
from config.errors import ServiceError


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CommissionEntry)
class CommissionEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "affiliate",
        "kind",
        "amount",
        "currency",
        "state",
        "approve_after",
        "source_type",
        "source_id",
        "created_at",
    ]
    list_filter = ["state", "kind", "currency", "source_type"]
    search_fields = ["affiliate__username", "source_id", "rule"]
    raw_id_fields = ["affiliate", "payment"]
    date_hierarchy = "created_at"


class PaymentNeedsAttentionFilter(admin.SimpleListFilter):
    """The "needs attention" list: payments stored but not yet computed, with the reason
    (most often: enter the missing exchange rate, and they are processed by themselves)."""

    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("waiting_for_rate", "Waiting for an exchange rate")]

    def queryset(self, request, queryset):
        if self.value() == "waiting_for_rate":
            return queryset.filter(status=Payment.Status.WAITING_FOR_RATE)
        return queryset


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "external_id",
        "provider",
        "customer_id",
        "amount",
        "currency",
        "paid_at",
        "status",
        "status_reason",
        "is_first",
        "product_plan",
        "refunded_amount",
        "dispute_state",
    ]
    list_filter = [
        PaymentNeedsAttentionFilter,
        "status",
        "provider",
        "currency",
        "is_first",
        "dispute_state",
    ]
    search_fields = ["external_id", "customer_id", "charge_id"]
    raw_id_fields = ["referral"]
    date_hierarchy = "paid_at"


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = [
        "external_id",
        "provider",
        "payment_ref",
        "amount",
        "currency",
        "refunded_at",
        "applied_at",
    ]
    search_fields = ["external_id", "payment_ref"]
    raw_id_fields = ["payment"]


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = [
        "external_id",
        "payment_ref",
        "amount",
        "currency",
        "status",
        "opened_at",
        "closed_at",
    ]
    list_filter = ["status"]
    raw_id_fields = ["payment"]


class EventNeedsAttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [
            ("parked", "Parked (retries used up)"),
            ("retrying", "Failed, retry scheduled"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "parked":
            return queryset.filter(parked_at__isnull=False)
        if self.value() == "retrying":
            return queryset.filter(
                Q(processed_at__isnull=True, parked_at__isnull=True, next_attempt_at__isnull=False)
            )
        return queryset


@admin.register(StoredEvent)
class StoredEventAdmin(ReadOnlyAdmin):
    list_display = [
        "event_id",
        "provider",
        "type",
        "via",
        "created",
        "processed_at",
        "outcome",
        "attempts",
        "next_attempt_at",
        "parked_at",
        "short_error",
    ]
    list_filter = [EventNeedsAttentionFilter, "provider", "type", "via", "outcome"]
    search_fields = ["event_id"]
    date_hierarchy = "created"
    actions = ["retry"]

    @admin.display(description="error")
    def short_error(self, obj: StoredEvent) -> str:
        return obj.error[:120]

    @admin.action(
        description="Retry the selected failed or parked events now", permissions=["retry"]
    )
    def retry(self, request, queryset):
        # Read-only admin otherwise: the action goes through the events service.
        queued = ingest.retry_events(
            event_ids=list(queryset.values_list("pk", flat=True)), now=timezone.now()
        )
        self.message_user(request, f"{queued} event(s) queued for another try.", messages.INFO)

    def has_retry_permission(self, request):
        # Changing an event's bookkeeping is a change, whatever the read-only admin says.
        return request.user.has_perm("commissions.change_storedevent")


@admin.register(PlanChange)
class PlanChangeAdmin(ReadOnlyAdmin):
    list_display = ["referral", "subscription_id", "product_plan", "status", "changed_at"]
    raw_id_fields = ["referral"]


@admin.register(StripeCustomerLink)
class StripeCustomerLinkAdmin(ReadOnlyAdmin):
    list_display = ["stripe_customer_id", "customer_id", "how", "linked_at"]
    search_fields = ["stripe_customer_id", "customer_id"]


class ExchangeRateForm(forms.ModelForm):
    class Meta:
        model = ExchangeRate
        fields = ["currency", "rate", "valid_from"]

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def clean_rate(self) -> Decimal:
        rate = self.cleaned_data["rate"]
        try:
            services.check_fx_rate(rate, field="rate")
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from exc
        return rate


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Rates the admin maintains: program-currency units per unit of `currency`, from
    `valid_from`. Changing one affects only payments recorded afterwards (each payment
    keeps the rate it was recorded with). Saving one processes the payments that waited
    for it (on commit)."""

    form = ExchangeRateForm
    list_display = ["currency", "rate", "valid_from", "created_at"]
    list_filter = ["currency"]

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            services.enqueue_waiting_payments(currency=obj.currency)
