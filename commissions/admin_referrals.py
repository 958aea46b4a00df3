"""The referral (customer) admin page with what the customer paid and what it earned: its
payments inline, its refunds and disputes, and every ledger entry it caused (the signup
bounty, each payment's commission, clawbacks, an employee's share), all read-only.

tracking.admin registers the referral admin with the "why credited" trail; tracking may
not read payments or the ledger, so this module (above it) re-registers a subclass."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse

from affiliates.admin_display import link, money, rate, short_time, table
from commissions.models import CommissionEntry, Dispute, Payment, Refund
from tracking.admin import ReferralAdmin as BaseReferralAdmin
from tracking.models import Referral


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    can_delete = False
    fields = [
        "payment_link",
        "paid",
        "amount_money",
        "refunded_money",
        "is_first",
        "product_plan",
        "status",
        "dispute_state",
    ]
    readonly_fields = fields
    ordering = ["paid_at", "pk"]
    verbose_name_plural = "Payments"
    template = "admin/edit_inline/tabular_rows.html"  # no raw str() per row

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Payment")
    def payment_link(self, obj: Payment) -> str:
        return link(reverse("admin:commissions_payment_change", args=[obj.pk]), obj.external_id)

    @admin.display(description="Paid")
    def paid(self, obj: Payment) -> str:
        return short_time(obj.paid_at)

    @admin.display(description="Amount")
    def amount_money(self, obj: Payment) -> str:
        return money(obj.amount, obj.currency)

    @admin.display(description="Refunded")
    def refunded_money(self, obj: Payment) -> str:
        return money(obj.refunded_amount, obj.currency)


def _payments_total(column: str) -> Coalesce:
    summed = (
        Payment.objects.filter(referral=OuterRef("pk"))
        .order_by()
        .values("referral")
        .annotate(t=Sum(column))
        .values("t")
    )
    return Coalesce(Subquery(summed), 0)


def _payments_count() -> Coalesce:
    counted = (
        Payment.objects.filter(referral=OuterRef("pk"))
        .order_by()
        .values("referral")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


class ReferralAdmin(BaseReferralAdmin):
    list_display = [*BaseReferralAdmin.list_display, "payments", "revenue"]
    inlines = [PaymentInline]
    fieldsets = (
        *BaseReferralAdmin.fieldsets,
        ("Commission entries", {"fields": ("entries_table",)}),
        ("Refunds and disputes", {"fields": ("refunds_table",)}),
    )
    readonly_fields = [*BaseReferralAdmin.readonly_fields, "entries_table", "refunds_table"]

    def get_queryset(self, request) -> QuerySet[Referral]:
        # Lifetime figures per customer as one subquery each (constant queries per page).
        # Revenue is in the program currency (each payment's program_amount, at the rate
        # recorded with it), so customers paying in other currencies add up correctly.
        return (
            super()
            .get_queryset(request)
            .annotate(_payments=_payments_count(), _revenue=_payments_total("program_amount"))
        )

    @admin.display(description="Payments", ordering="_payments")
    def payments(self, obj: Referral) -> int:
        return obj._payments

    @admin.display(description="Revenue", ordering="_revenue")
    def revenue(self, obj: Referral) -> str:
        return money(obj._revenue, settings.PROGRAM_CURRENCY)

    @admin.display(description="Entries")
    def entries_table(self, obj: Referral) -> str:
        entries = (
            CommissionEntry.objects.filter(
                Q(payment__referral=obj)
                | Q(source_type=CommissionEntry.SourceType.SIGNUP, source_id=str(obj.pk))
            )
            .select_related("affiliate")
            .order_by("created_at", "pk")
        )
        return table(
            ["Entry", "Created", "Earner", "Kind", "Amount", "Rate", "Of", "State", "Rule"],
            (
                [
                    link(reverse("admin:commissions_commissionentry_change", args=[e.pk]), e.pk),
                    short_time(e.created_at),
                    e.affiliate.username,
                    e.get_kind_display(),
                    money(e.amount, e.currency),
                    rate(e.rate_bp),
                    money(e.base_amount, e.base_currency or e.currency),
                    e.get_state_display(),
                    e.rule,
                ]
                for e in entries
            ),
            empty="No commission entries for this customer yet.",
        )

    @admin.display(description="Refunds and disputes")
    def refunds_table(self, obj: Referral) -> str:
        refunds = Refund.objects.filter(payment__referral=obj).select_related("payment")
        disputes = Dispute.objects.filter(payment__referral=obj).select_related("payment")
        rows = [
            (
                r.refunded_at,
                [
                    "Refund",
                    r.external_id,
                    r.payment.external_id,
                    money(r.amount, r.currency),
                    "",
                    short_time(r.refunded_at),
                ],
            )
            for r in refunds
        ] + [
            (
                d.opened_at,
                [
                    "Dispute",
                    d.external_id,
                    d.payment.external_id,
                    money(d.amount, d.currency),
                    d.get_status_display(),
                    short_time(d.opened_at),
                ],
            )
            for d in disputes
        ]
        rows.sort(key=lambda pair: pair[0])
        return table(
            ["What", "Id", "Payment", "Amount", "Status", "When"],
            (row for _, row in rows),
            empty="No refunds or disputes.",
        )


admin.site.unregister(Referral)
admin.site.register(Referral, ReferralAdmin)
