"""Payout runs, payouts (with their items and history), accounts, PayPal batches and events
in admin.

Acting needs the change permission (`@admin.action(permissions=["change"])`): program
managers have it; the Support group has only view permissions, so it sees and cannot act.
Nothing here is deleted (runs, payouts, their items and history, PayPal batches and events):
money records are kept, superusers included. Money reads as money through
affiliates.admin_display (config.money.format_money)."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from affiliates.admin import PageSection, affiliate_page_section
from affiliates.admin_display import (
    AffiliateListFilter,
    NoDeleteMixin,
    link,
    money,
    money_totals,
    short_time,
    time_column,
)
from affiliates.models import Affiliate
from config.errors import ServiceError
from config.money import format_money
from payouts import selectors, services
from payouts.admin_accounts import ReferenceActionForm  # also registers accounts, PayPal
from payouts.models import (
    Payout,
    PayoutEvent,
    PayoutItem,
    PayoutRun,
    PayoutSkip,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class PayoutSkipInline(ReadOnlyInline):
    model = PayoutSkip
    template = "admin/edit_inline/tabular_rows.html"  # no raw str() per row
    fields = ("affiliate", "currency", "held_amount", "reason")
    readonly_fields = fields

    @admin.display(description="Amount")
    def held_amount(self, obj: PayoutSkip) -> str:
        return format_money(obj.amount, obj.currency)


@admin.display(description="#", ordering="pk")
def number(obj) -> int:
    return obj.pk


class ReadOnlyPageMixin:
    """Every field of the page is read-only (actions act): no Save buttons that save nothing."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)


class RunPayoutInline(ReadOnlyInline):
    """The run's payouts, so its state can be read against theirs (no destinations here)."""

    model = Payout
    fields = ("payout_link", "affiliate", "amount_money", "method", "state", "provider_status")
    readonly_fields = fields
    ordering = ("pk",)
    verbose_name_plural = "Payouts of this run"
    template = "admin/edit_inline/tabular_rows.html"  # no raw str() per row

    @admin.display(description="Payout")
    def payout_link(self, obj: Payout) -> str:
        return link(reverse("admin:payouts_payout_change", args=[obj.pk]), f"#{obj.pk}")

    @admin.display(description="Amount")
    def amount_money(self, obj: Payout) -> str:
        return money(obj.amount, obj.currency)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("affiliate")


# A run's own state against its payouts' states: what a finished run must not still have.
_OPEN_PAYOUT_STATES = (
    Payout.State.AWAITING_APPROVAL,
    Payout.State.PENDING,
    Payout.State.SENDING,
    Payout.State.UNKNOWN,
)


def run_state_problem(run: PayoutRun, counts: dict[str, int]) -> str:
    """ "" when the run's state agrees with its payouts', else what disagrees, in words."""
    total = sum(counts.values())
    still_open = sum(counts.get(s, 0) for s in _OPEN_PAYOUT_STATES)
    if total != run.payout_count:
        return f"the run says {run.payout_count} payouts, {total} exist"
    if run.state in (PayoutRun.State.COMPLETED, PayoutRun.State.DONE) and still_open:
        return f"{still_open} payout(s) not final yet"
    if run.state == PayoutRun.State.APPROVED and total and not still_open:
        return "every payout is final: the run should be completed"
    if run.state == PayoutRun.State.AWAITING_APPROVAL and total != counts.get(
        Payout.State.AWAITING_APPROVAL, 0
    ):
        return "payouts moved before the run was approved"
    return ""


@admin.register(PayoutRun)
class PayoutRunAdmin(ReadOnlyPageMixin, NoDeleteMixin, admin.ModelAdmin):
    list_display = (
        number,
        time_column("started_at", description="Started"),
        "state",
        "totals_display",
        "payout_states",
        "carried_count",
        "two_weekly_only",
    )
    list_filter = ("state", "two_weekly_only")
    # The raw {"USD": 19065} is replaced by its money display, and stays read-only.
    exclude = ("totals",)
    readonly_fields = [f.name for f in PayoutRun._meta.fields if f.name != "totals"] + [
        "totals_display",
        "payout_states",
        "exports",
    ]
    inlines = [RunPayoutInline, PayoutSkipInline]
    actions = ["approve_runs"]
    list_select_related = ("approved_by",)

    def get_queryset(self, request):
        # Payout counts per state, annotated (one query for the whole list).
        per_state = {
            f"_n_{state}": Count("payouts", filter=Q(payouts__state=state))
            for state in Payout.State.values
        }
        return super().get_queryset(request).annotate(**per_state)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Totals")
    def totals_display(self, obj: PayoutRun) -> str:
        # One figure per currency, never summed across currencies.
        return money_totals(obj.totals)

    @admin.display(description="Payouts by state")
    def payout_states(self, obj: PayoutRun) -> str:
        counts = {s: getattr(obj, f"_n_{s}", 0) for s in Payout.State.values}
        labels = dict(Payout.State.choices)
        text = ", ".join(f"{n} {labels[s].lower()}" for s, n in counts.items() if n) or "none"
        problem = run_state_problem(obj, counts)
        if problem:
            return format_html('{} <strong class="errornote">⚠ {}</strong>', text, problem)
        return text

    @admin.display(description="Pay by hand")
    def exports(self, obj: PayoutRun) -> str:
        return _export_links()

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if request.user.has_perm("payouts.export_payout_destinations"):
            return fields
        return [f for f in fields if f != "exports"]

    @admin.action(description="Approve selected runs (send their payouts)", permissions=["change"])
    def approve_runs(self, request, queryset):
        now = timezone.now()
        count = sum(
            services.approve_run(run_id=run.pk, actor=request.user, now=now) for run in queryset
        )
        self.message_user(request, f"{count} payouts approved for sending.")


def _export_links() -> str:
    return format_html(
        '<a href="{}">PayPal mass-pay CSV</a> · <a href="{}">Manual payouts CSV</a> '
        "(pending payouts, as created by their run)",
        reverse("payouts-export", args=["paypal"]),
        reverse("payouts-export", args=["generic"]),
    )


class PayoutItemInline(ReadOnlyInline):
    model = PayoutItem
    template = "admin/edit_inline/tabular_rows.html"  # no raw str() per row
    fields = ("entry_link", "kind", "amount_money", "live")
    readonly_fields = fields

    @admin.display(description="Entry")
    def entry_link(self, obj: PayoutItem) -> str:
        url = reverse("admin:commissions_commissionentry_change", args=[obj.entry_id])
        return link(url, f"#{obj.entry_id}")

    @admin.display(description="Kind")
    def kind(self, obj: PayoutItem) -> str:
        return obj.entry.get_kind_display()

    @admin.display(description="Amount")
    def amount_money(self, obj: PayoutItem) -> str:
        return money(obj.amount, obj.entry.currency)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("entry")


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


class RunFilter(admin.SimpleListFilter):
    """The latest runs by date and state ("#12 · 1 Nov 2026 · Completed"), not raw codes."""

    title = "run"
    parameter_name = "run"

    def lookups(self, request, model_admin):
        runs = PayoutRun.objects.order_by("-started_at", "-pk")[:20]
        return [
            (str(r.pk), f"#{r.pk} · {short_time(r.started_at)} · {r.get_state_display()}")
            for r in runs
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit() and len(value) < 19:
            return queryset.filter(run_id=int(value))
        return queryset


# The payout page: money as money; the raw amount / currency / reversed columns replaced.
_PAYOUT_FIELDS = [
    {"amount": "amount_display", "reversed_amount": "reversed_display"}.get(f.name, f.name)
    for f in Payout._meta.fields
    if f.name not in ("id", "currency")
]


@admin.register(Payout)
class PayoutAdmin(ReadOnlyPageMixin, NoDeleteMixin, admin.ModelAdmin):
    list_display = (
        number,
        "affiliate",
        "amount_display",
        "state",
        "method",
        "run_link",
        "provider_status",
        time_column("created_at", description="Created"),
        time_column("paid_at", description="Paid"),
    )
    list_filter = ("state", "method", "currency", RunFilter, AffiliateListFilter)
    search_fields = ("affiliate__username", "affiliate__user__email", "provider_id", "reference")
    fields = _PAYOUT_FIELDS
    readonly_fields = _PAYOUT_FIELDS
    inlines = [PayoutItemInline, PayoutEventInline]
    action_form = ReferenceActionForm
    actions = ["mark_paid", "fail_unknown", "retry_failed"]
    list_select_related = ("affiliate", "run")
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

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: Payout) -> str:
        return format_money(obj.amount, obj.currency)

    @admin.display(description="Reversed")
    def reversed_display(self, obj: Payout) -> str:
        return money(obj.reversed_amount, obj.currency)

    @admin.display(description="Run", ordering="run")
    def run_link(self, obj: Payout) -> str:
        url = reverse("admin:payouts_payoutrun_change", args=[obj.run_id])
        return link(url, f"#{obj.run_id} {obj.run.get_state_display()}")

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        if request.user.has_perm("payouts.export_payout_destinations"):
            extra_context["export_urls"] = [
                ("PayPal mass-pay CSV", reverse("payouts-export", args=["paypal"])),
                ("Manual payouts CSV", reverse("payouts-export", args=["generic"])),
            ]
        return super().changelist_view(request, extra_context)

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


@affiliate_page_section
def payouts_section(request, affiliate: Affiliate) -> PageSection | None:
    """Its payouts: paid per currency, how many are still on their way, and whether it can
    be paid now. No destination (Support reads this page too)."""
    if not request.user.has_perm("payouts.view_payout"):
        return None
    rows = list(
        Payout.objects.filter(affiliate=affiliate)
        .order_by()
        .values("currency", "state")
        .annotate(n=Count("pk"), total=Sum("amount"))
    )
    paid = {r["currency"]: r["total"] for r in rows if r["state"] == Payout.State.PAID}
    open_count = sum(r["n"] for r in rows if r["state"] in _OPEN_PAYOUT_STATES)
    failed = sum(r["n"] for r in rows if r["state"] == Payout.State.FAILED)
    account = selectors.payout_account(affiliate=affiliate)
    hold = selectors.hold_reason(affiliate=affiliate, account=account, now=timezone.now())
    payouts = reverse("admin:payouts_payout_changelist") + f"?affiliate={affiliate.pk}"
    links = [("Its payouts", payouts)]
    if account.pk and request.user.has_perm("payouts.view_payoutaccount"):
        links.append(
            ("Its payout account", reverse("admin:payouts_payoutaccount_change", args=[account.pk]))
        )
    return PageSection(
        title="Payouts",
        rows=[
            ("Paid out", money_totals(paid)),
            ("On their way", str(open_count)),
            ("Failed", str(failed)),
            ("Payout method", account.get_method_display()),
            ("Payable now", "yes" if not hold else f"no: {hold}"),
        ],
        links=links,
    )
