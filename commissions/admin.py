"""Admin for payments, refunds, disputes, stored events, exchange rates and the ledger.
Ledger entries are read-only here: money never changes after insert, and state moves only
through the services (approval job, payouts)."""

from django.contrib import admin

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


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "external_id",
        "provider",
        "customer_id",
        "amount",
        "currency",
        "paid_at",
        "is_first",
        "product_plan",
        "refunded_amount",
        "dispute_state",
    ]
    list_filter = ["provider", "currency", "is_first", "dispute_state"]
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


@admin.register(StoredEvent)
class StoredEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "provider", "type", "via", "created", "processed_at", "outcome"]
    list_filter = ["provider", "type", "via", "outcome"]
    search_fields = ["event_id"]
    date_hierarchy = "created"


@admin.register(PlanChange)
class PlanChangeAdmin(ReadOnlyAdmin):
    list_display = ["referral", "subscription_id", "product_plan", "status", "changed_at"]
    raw_id_fields = ["referral"]


@admin.register(StripeCustomerLink)
class StripeCustomerLinkAdmin(ReadOnlyAdmin):
    list_display = ["stripe_customer_id", "customer_id", "how", "linked_at"]
    search_fields = ["stripe_customer_id", "customer_id"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Rates the admin maintains: program-currency units per unit of `currency`, from
    `valid_from`. Changing one affects only payments recorded afterwards (each payment
    keeps the rate it was recorded with)."""

    list_display = ["currency", "rate", "valid_from", "created_at"]
    list_filter = ["currency"]
