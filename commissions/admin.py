"""Admin for payments, refunds, disputes, stored events, exchange rates and the ledger.
Ledger entries are read-only here: money never changes after insert, and state moves only
through the services (approval job, payouts). Nothing here is ever deleted (no delete
button, page or bulk action, superusers included). Money reads as money ("USD 108.00"),
rates as percentages; the referral admin with the customer's payments and entries is in
commissions.admin_referrals."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from affiliates.admin import PageSection, affiliate_page_section
from affiliates.admin_display import (
    AffiliateListFilter,
    NoDeleteMixin,
    money,
    money_column,
    rate,
    time_column,
)
from affiliates.admin_export import ExportMixin, decimal, export_action, stamp
from affiliates.models import Affiliate
from commissions import (
    admin_prizes,  # noqa: F401  (the prize budget, rounds and awards)
    admin_referrals,  # noqa: F401  (referrals with payments and entries)
    ingest,
    selectors,
    services,
)
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


class ReadOnlyAdmin(NoDeleteMixin, admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


export_entries = export_action(
    name="entries",
    columns=[
        ("id", lambda e: e.pk),
        ("affiliate", lambda e: e.affiliate.username),
        ("kind", lambda e: e.kind),
        ("state", lambda e: e.state),
        ("amount", lambda e: decimal(e.amount, e.currency)),
        ("currency", lambda e: e.currency),
        ("rate_percent", lambda e: rate(e.rate_bp) if e.rate_bp is not None else ""),
        ("base_amount", lambda e: decimal(e.base_amount, e.base_currency or e.currency)),
        ("base_currency", lambda e: e.base_currency),
        ("rule", lambda e: e.rule),
        ("source_type", lambda e: e.source_type),
        ("source_id", lambda e: e.source_id),
        ("created_at", lambda e: stamp(e.created_at)),
        ("approve_after", lambda e: stamp(e.approve_after)),
        ("approved_at", lambda e: stamp(e.approved_at)),
        ("paid_at", lambda e: stamp(e.paid_at)),
    ],
    prepare=lambda qs: qs.select_related("affiliate").order_by("pk"),
)


@admin.display(description="Source")
def entry_source(entry: CommissionEntry) -> str:
    return f"{entry.get_source_type_display()} {entry.source_id}"


@admin.register(CommissionEntry)
class CommissionEntryAdmin(ExportMixin, ReadOnlyAdmin):
    # Compact: the amount (with its currency) sits early, so it is on screen at 1366 px.
    list_display = [
        "id",
        "affiliate",
        money_column("amount", description="Amount"),
        "state",
        "kind",
        "rate_percent",
        entry_source,
        time_column("created_at", description="Created"),
        time_column("approve_after", description="Hold ends"),
    ]
    list_select_related = ["affiliate"]
    list_filter = ["state", "kind", "currency", "source_type", AffiliateListFilter]
    search_fields = ["affiliate__username", "source_id", "rule"]
    date_hierarchy = "created_at"
    actions = [export_entries]
    fields = [
        "affiliate",
        "kind",
        "amount_money",
        "state",
        "state_note",
        "rule",
        "rate_percent",
        "base_money",
        "fx_rate",
        "source",
        "payment",
        "created_at",
        "approve_after",
        "approved_at",
        "declined_at",
        "in_payout_at",
        "paid_at",
    ]
    readonly_fields = fields

    @admin.display(description="Amount", ordering="amount")
    def amount_money(self, obj: CommissionEntry) -> str:
        return money(obj.amount, obj.currency)

    @admin.display(description="Rate", ordering="rate_bp")
    def rate_percent(self, obj: CommissionEntry) -> str:
        return rate(obj.rate_bp)

    @admin.display(description="Base (the rate applied to)")
    def base_money(self, obj: CommissionEntry) -> str:
        return money(obj.base_amount, obj.base_currency or obj.currency)

    @admin.display(description="Source")
    def source(self, obj: CommissionEntry) -> str:
        return entry_source(obj)


@affiliate_page_section
def balances_section(request, affiliate: Affiliate) -> PageSection:
    """The affiliate's balances per currency, from the ledger (never summed across
    currencies), and links to its entries and its referred customers' payments."""
    balances = selectors.balances_for(affiliate_id=affiliate.pk)
    states = ("pending", "approved", "in_payout", "paid")
    table_rows = [
        [currency, *(money(per.get(state, 0), currency) for state in states)]
        for currency, per in sorted(balances.items())
    ]
    rows = [] if table_rows else [("Balance", money(0, settings.PROGRAM_CURRENCY))]
    entries = reverse("admin:commissions_commissionentry_changelist")
    payments = reverse("admin:commissions_payment_changelist")
    return PageSection(
        title="Balances (from the ledger)",
        rows=rows,
        table_head=["", "Pending", "Approved", "In payout", "Paid"],
        table_rows=table_rows,
        links=[
            ("Its commission entries", f"{entries}?affiliate={affiliate.pk}"),
            ("Its customers' payments", f"{payments}?affiliate={affiliate.pk}"),
        ],
    )


class PaymentAffiliateFilter(AffiliateListFilter):
    field = "referral__affiliate_id"


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
        "customer_id",
        money_column("amount", description="Amount"),
        money_column("refunded_amount", description="Refunded"),
        time_column("paid_at", description="Paid"),
        "status",
        "is_first",
        "product_plan",
        "dispute_state",
    ]
    list_filter = [
        PaymentNeedsAttentionFilter,
        "status",
        "provider",
        "currency",
        "is_first",
        "dispute_state",
        PaymentAffiliateFilter,
    ]
    search_fields = ["external_id", "customer_id", "charge_id"]
    date_hierarchy = "paid_at"
    fields = [
        "external_id",
        "provider",
        "referral",
        "customer_id",
        "amount_money",
        "tax_money",
        "program_money",
        "fx_rate",
        "fx_source",
        "paid_at",
        "is_first",
        "product_plan",
        "subscription_id",
        "charge_id",
        "payment_intent_id",
        "status",
        "status_reason",
        "blocked_by",
        "refunded_money",
        "dispute_state",
        "created_at",
    ]
    readonly_fields = fields

    @admin.display(description="Amount (net of tax)")
    def amount_money(self, obj: Payment) -> str:
        return money(obj.amount, obj.currency)

    @admin.display(description="Tax")
    def tax_money(self, obj: Payment) -> str:
        return money(obj.tax, obj.currency)

    @admin.display(description="In the program currency")
    def program_money(self, obj: Payment) -> str:
        return money(obj.program_amount, settings.PROGRAM_CURRENCY)

    @admin.display(description="Refunded")
    def refunded_money(self, obj: Payment) -> str:
        return money(obj.refunded_amount, obj.currency)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = [
        "external_id",
        "provider",
        "payment_ref",
        money_column("amount", description="Amount"),
        time_column("refunded_at", description="Refunded"),
        time_column("applied_at", description="Applied"),
    ]
    search_fields = ["external_id", "payment_ref"]
    fields = [
        "external_id",
        "provider",
        "payment",
        "payment_ref",
        "amount_money",
        "refunded_at",
        "applied_at",
        "created_at",
    ]
    readonly_fields = fields
    list_select_related = []

    @admin.display(description="Amount")
    def amount_money(self, obj: Refund) -> str:
        return money(obj.amount, obj.currency)


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = [
        "external_id",
        "payment_ref",
        money_column("amount", description="Amount"),
        "status",
        time_column("opened_at", description="Opened"),
        time_column("closed_at", description="Closed"),
    ]
    list_filter = ["status"]
    fields = [
        "external_id",
        "provider",
        "payment",
        "payment_ref",
        "amount_money",
        "status",
        "opened_at",
        "closed_at",
        "applied_at",
        "created_at",
    ]
    readonly_fields = fields

    @admin.display(description="Amount")
    def amount_money(self, obj: Dispute) -> str:
        return money(obj.amount, obj.currency)


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
    list_select_related = ["referral__affiliate"]


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
