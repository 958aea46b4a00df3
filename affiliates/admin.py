"""Django admin for the program's people. Status changes go through the services (so e-mails
go out and the audit log records who did it); usernames change only through the affiliate's
own settings (so aliases are kept). The affiliates list's rollup columns (clicks and earnings
over 30 days) are added by tracking.admin, which may read tracking's rollups; the
affiliate page's summary sections (performance, balances, payouts) are contributed the same
way, through AFFILIATE_PAGE_SECTIONS, by the apps that own those tables."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from affiliates import (
    admin_accounts,  # noqa: F401  (staff accounts, roles, API keys, audit log)
    admin_testimonials,  # noqa: F401  (testimonials and their approval)
    perks,
    services,
)
from affiliates.admin_coupons import CouponInline
from affiliates.admin_display import money, money_column, rate, rate_column, time_column
from affiliates.admin_export import ExportMixin, decimal, export_action, stamp
from affiliates.models import (
    Affiliate,
    Plan,
    PlanBonus,
    PlanLineRate,
    PlanTier,
    ProductLine,
    Username,
)
from config import queue
from config.admin_fields import MoneyRateFieldsMixin
from config.errors import ServiceError

admin.site.site_header = "Ambassador administration"
admin.site.site_title = "Ambassador administration"
admin.site.index_title = "Program administration"
# The app list sidebar takes a quarter of a 1366 px screen, which pushed the money columns
# of the wider lists (entries, payments, payouts) out of sight; the home and the
# breadcrumbs lead everywhere it did.
admin.site.enable_nav_sidebar = False


def _program(amount: int | None) -> str:
    return money(amount, settings.PROGRAM_CURRENCY)


class PlanTierInline(MoneyRateFieldsMixin, admin.TabularInline):
    """Typed as money and percentages ("500.00", "55 %"), stored in minor units and basis
    points; each saved row reads back as a sentence beside the inputs."""

    model = PlanTier
    extra = 0
    money_fields = ["min_sales"]
    rate_fields = ["first_payment_bp", "recurring_bp"]
    fields = ["min_sales", "first_payment_bp", "recurring_bp", "reads_as"]
    readonly_fields = ["reads_as"]

    @admin.display(description="Reads as")
    def reads_as(self, obj: PlanTier) -> str:
        if obj.pk is None:
            return "—"
        return (
            f"from {_program(obj.min_sales)} last month: {rate(obj.first_payment_bp)} of a "
            f"first payment, {rate(obj.recurring_bp)} recurring"
        )


class PlanBonusInline(MoneyRateFieldsMixin, admin.TabularInline):
    model = PlanBonus
    extra = 0
    money_fields = ["amount"]
    fields = ["product_plan", "amount", "hold_days", "reads_as"]
    readonly_fields = ["reads_as"]

    @admin.display(description="Reads as")
    def reads_as(self, obj: PlanBonus) -> str:
        if obj.pk is None:
            return "—"
        return f"{_program(obj.amount)}, held {obj.hold_days} days"


class PlanLineRateInline(MoneyRateFieldsMixin, admin.TabularInline):
    """The plan's own rates on a product line's payments (commissions.rules: they replace
    the plan's rates and its tiers for that line)."""

    model = PlanLineRate
    extra = 0
    rate_fields = ["first_payment_bp", "recurring_bp"]
    fields = ["line", "first_payment_bp", "recurring_bp", "reads_as"]
    readonly_fields = ["reads_as"]

    @admin.display(description="Reads as")
    def reads_as(self, obj: PlanLineRate) -> str:
        if obj.pk is None:
            return "—"
        first = (
            f"{rate(obj.first_payment_bp)} of a first payment"
            if obj.first_payment_bp is not None
            else "the plan's rate on a first payment"
        )
        return f"{obj.line} plans: {first}, {rate(obj.recurring_bp)} recurring (any tier)"


@admin.register(ProductLine)
class ProductLineAdmin(admin.ModelAdmin):
    list_display = ["name", "patterns_in_one_line"]
    search_fields = ["name", "patterns"]
    fields = ["name", "patterns"]

    @admin.display(description="Patterns")
    def patterns_in_one_line(self, obj: ProductLine) -> str:
        return ", ".join(obj.pattern_list())


@admin.action(description="Make the selected plan the default", permissions=["change"])
def make_default(modeladmin, request, queryset):
    if queryset.count() != 1:
        modeladmin.message_user(request, "Select exactly one plan.", messages.ERROR)
        return
    try:
        plan = services.make_default_plan(
            plan=queryset.get(), actor=request.user, now=timezone.now()
        )
    except ServiceError as exc:
        modeladmin.message_user(request, exc.message, messages.ERROR)
        return
    modeladmin.message_user(request, f"{plan} is now the default plan.", messages.SUCCESS)


@admin.register(Plan)
class PlanAdmin(MoneyRateFieldsMixin, admin.ModelAdmin):
    # There is always exactly one default plan (commissions.rules.default_plan refuses to
    # guess figures without one): the flag moves only through the "make default" action,
    # and the default plan cannot be deleted.
    # The employees' default plan (rules.employee_default_plan) is flagged by its install
    # migration; admins edit its figures, the flag stays where it is.
    readonly_fields = ["is_default", "is_employee_default", "reads_as"]
    money_fields = ["signup_bounty"]
    rate_fields = ["first_payment_bp", "recurring_bp"]
    actions = [make_default]
    fields = [
        "name",
        "is_default",
        "is_employee_default",
        "signup_bounty",
        "first_payment_bp",
        "recurring_bp",
        "recurring_months",
        "use_tiers",
        "reads_as",
    ]

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_default:
            return False
        return super().has_delete_permission(request, obj)

    # What an affiliate earns by: a change to any of them (or to the tiers inline) is e-mailed
    # to the plan's affiliates (emails.notices), after the inlines are saved.
    RATE_FIELDS = {"signup_bounty", "first_payment_bp", "recurring_bp", "recurring_months"}

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        rates_changed = (self.RATE_FIELDS | {"use_tiers"}) & set(form.changed_data)
        if change and (rates_changed or any(f.has_changed() for f in formsets)):
            queue.enqueue_on_commit("emails.notify_plan_rates_changed", plan_id=form.instance.pk)

    list_display = [
        "name",
        "is_default",
        "is_employee_default",
        money_column("signup_bounty", currency=settings.PROGRAM_CURRENCY, description="Signup"),
        rate_column("first_payment_bp", description="First payment"),
        rate_column("recurring_bp", description="Recurring"),
        "recurring_months",
        "use_tiers",
    ]
    inlines = [PlanTierInline, PlanBonusInline, PlanLineRateInline]

    @admin.display(description="Reads as")
    def reads_as(self, obj: Plan) -> str:
        if obj.pk is None:
            return "—"
        months = f" for {obj.recurring_months} months" if obj.recurring_months else ""
        tiers = " (or the tiers below, by last month's sales)" if obj.use_tiers else ""
        return (
            f"{_program(obj.signup_bounty)} per signup; {rate(obj.first_payment_bp)} of a first "
            f"payment, {rate(obj.recurring_bp)} of recurring payments{months}{tiers}"
        )


class UsernameInline(admin.TabularInline):
    """Username history: the current name and every earlier alias, read-only."""

    model = Username
    extra = 0
    fields = ["name", "created_at", "retired_at"]
    readonly_fields = ["name", "created_at", "retired_at"]
    can_delete = False
    verbose_name_plural = "Username history"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


def _bulk(modeladmin, request, queryset, service, verb: str) -> None:
    done = skipped = 0
    now = timezone.now()
    for affiliate in queryset.select_related("user"):
        try:
            service(affiliate=affiliate, now=now, actor=request.user)
        except ServiceError:
            skipped += 1  # not in a status this action applies to
        else:
            done += 1
    modeladmin.message_user(request, f"{done} affiliate(s) {verb}.", messages.SUCCESS)
    if skipped:
        modeladmin.message_user(
            request,
            f"{skipped} skipped: their status does not allow being {verb}.",
            messages.WARNING,
        )


@admin.action(description="Approve selected affiliates (e-mails them)", permissions=["change"])
def approve_selected(modeladmin, request, queryset):
    _bulk(modeladmin, request, queryset, services.approve_affiliate, "approved")


@admin.action(description="Reject selected applications (e-mails them)", permissions=["change"])
def reject_selected(modeladmin, request, queryset):
    _bulk(modeladmin, request, queryset, services.reject_affiliate, "rejected")


@admin.action(description="Suspend selected affiliates (e-mails them)", permissions=["change"])
def suspend_selected(modeladmin, request, queryset):
    _bulk(modeladmin, request, queryset, services.suspend_affiliate, "suspended")


@admin.action(description="Reinstate selected suspended affiliates", permissions=["change"])
def reinstate_selected(modeladmin, request, queryset):
    _bulk(modeladmin, request, queryset, services.reinstate_affiliate, "reinstated")


@dataclass
class PageSection:
    """One box of the affiliate's admin page: figures (label, formatted value) and links."""

    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    # An optional small table under the rows: a header and rows of formatted cells.
    table_head: list[str] = field(default_factory=list)
    table_rows: list[list[str]] = field(default_factory=list)


# The apps above affiliates add their boxes to the affiliate page here (tracking: clicks and
# signups from the rollups; commissions: balances from the ledger; payouts: its payouts), so
# this app never reads their tables. Each is called with the request (for permissions) and
# the affiliate, and returns a section or None (nothing to show this user).
AFFILIATE_PAGE_SECTIONS: list[Callable[[HttpRequest, Affiliate], PageSection | None]] = []


def affiliate_page_section(func):
    AFFILIATE_PAGE_SECTIONS.append(func)
    return func


class PayoutThresholdFilter(admin.SimpleListFilter):
    """The thresholds in use, as money ("USD 20.00"), not as 2000."""

    title = "payout threshold"
    parameter_name = "threshold"

    def lookups(self, request, model_admin):
        used = Affiliate.objects.order_by().values_list("payout_threshold", flat=True).distinct()
        return [(str(v), _program(v)) for v in sorted(used)[:20]]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.lstrip("-").isdigit() and len(value) < 19:
            return queryset.filter(payout_threshold=int(value))
        return queryset


APPLICATIONS = "status__exact"  # the queue is the changelist at ?status__exact=applied


def applications_url() -> str:
    return reverse("admin:affiliates_affiliate_changelist") + f"?{APPLICATIONS}=applied"


export_affiliates = export_action(
    name="affiliates",
    columns=[
        ("public_id", lambda a: a.public_id),
        ("username", lambda a: a.username),
        ("email", lambda a: a.user.email),
        ("status", lambda a: a.status),
        ("plan", lambda a: a.plan.name if a.plan else ""),
        (
            "commission_override",
            lambda a: (
                rate(a.commission_override_bp) if a.commission_override_bp is not None else ""
            ),
        ),
        ("payout_threshold", lambda a: decimal(a.payout_threshold, settings.PROGRAM_CURRENCY)),
        ("currency", lambda a: settings.PROGRAM_CURRENCY),
        ("payout_frequency", lambda a: a.payout_frequency),
        ("website", lambda a: a.website),
        ("is_paying_customer", lambda a: int(a.is_paying_customer)),
        ("is_employee", lambda a: int(a.is_employee)),
        ("applied_at", lambda a: stamp(a.applied_at)),
        ("approved_at", lambda a: stamp(a.approved_at)),
        ("created_at", lambda a: stamp(a.created_at)),
    ],
    prepare=lambda qs: qs.select_related("user", "plan").order_by("pk"),
)


@admin.register(Affiliate)
class AffiliateAdmin(ExportMixin, MoneyRateFieldsMixin, admin.ModelAdmin):
    """The affiliates list and page. Its last-30-day columns come from tracking's rollups,
    which this app must not read: tracking.admin re-registers a subclass that adds them.

    The applications queue is this list filtered to status "applied" (linked from the admin
    home with the number waiting): oldest application first, with what they wrote."""

    list_display = [
        "username",
        "email",
        "status",
        "plan",
        "is_paying_customer",
        "is_employee",
        time_column("created_at", description="Joined"),
    ]
    queue_display = [
        "username",
        "email",
        "website",
        "promotion_short",
        "is_paying_customer",
        time_column("applied_at", description="Applied"),
    ]
    list_select_related = ["user", "plan"]
    list_filter = [
        "status",
        "plan",
        "is_employee",
        "is_paying_customer",
        "early_access",
        "payout_frequency",
        PayoutThresholdFilter,
    ]
    search_fields = ["username", "user__email", "public_id", "usernames__name"]
    date_hierarchy = "created_at"
    actions = [
        approve_selected,
        reject_selected,
        suspend_selected,
        reinstate_selected,
        export_affiliates,
    ]
    inlines = [UsernameInline, CouponInline]
    # A scheme-less website ("example.org") reads as https, as Django 6 will.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    money_fields = ["payout_threshold"]
    rate_fields = ["commission_override_bp"]

    # Status and username have their own services (e-mails, aliases, cache invalidation).
    readonly_fields = [
        "public_id",
        "user",
        "username",
        "status",
        "applied_at",
        "approved_at",
        "rejected_at",
        "suspended_at",
        "terms_accepted_at",
        "created_at",
        "override_reads_as",
        "threshold_reads_as",
    ]
    fieldsets = (
        (None, {"fields": ("public_id", "user", "username", "status", "status_note")}),
        ("Application", {"fields": ("website", "audience", "promotion", "terms_accepted_at")}),
        (
            "Commission and payout",
            {
                "fields": (
                    "plan",
                    ("commission_override_bp", "override_reads_as"),
                    ("payout_threshold", "threshold_reads_as"),
                    ("payout_frequency", "payout_frequency_by_hand"),
                )
            },
        ),
        (
            "Flags",
            {
                "fields": (
                    "is_employee",
                    ("early_access", "early_access_by_hand"),
                    "is_paying_customer",
                    "language",
                )
            },
        ),
        (
            "Dates",
            {
                "fields": (
                    "applied_at",
                    "approved_at",
                    "rejected_at",
                    "suspended_at",
                    "created_at",
                )
            },
        ),
    )

    def _in_queue(self, request) -> bool:
        return request.GET.get(APPLICATIONS) == Affiliate.Status.APPLIED

    def get_list_display(self, request):
        return self.queue_display if self._in_queue(request) else super().get_list_display(request)

    def get_ordering(self, request):
        return ["applied_at", "pk"] if self._in_queue(request) else super().get_ordering(request)

    def changelist_view(self, request, extra_context=None):
        if self._in_queue(request):
            extra_context = {**(extra_context or {}), "title": "Applications waiting for review"}
        return super().changelist_view(request, extra_context)

    @admin.display(ordering="user__email", description="E-mail")
    def email(self, obj: Affiliate) -> str:
        return obj.user.email

    @admin.display(description="How they will promote")
    def promotion_short(self, obj: Affiliate) -> str:
        text = " ".join((obj.promotion or obj.audience or "").split())
        return text if len(text) <= 90 else text[:89] + "…"

    @admin.display(description="Reads as")
    def override_reads_as(self, obj: Affiliate) -> str:
        if obj.commission_override_bp is None:
            return "— (the plan's rates)"
        return f"{rate(obj.commission_override_bp)} of every payment"

    @admin.display(description="Reads as")
    def threshold_reads_as(self, obj: Affiliate) -> str:
        return _program(obj.payout_threshold)

    def save_model(self, request, obj, form, change) -> None:
        # A perk changed here is set by hand: its job leaves it alone (affiliates.perks).
        perks.mark_set_by_hand(affiliate=obj, changed=form.changed_data)
        super().save_model(request, obj, form, change)
        if change and {"plan", "commission_override_bp"} & set(form.changed_data):
            # The affiliate hears its new rates (emails.notices), after the change commits.
            queue.enqueue_on_commit("emails.notify_plan_changed", affiliate_id=obj.pk)

    def has_add_permission(self, request) -> bool:
        # New affiliates come from /apply/ or `manage.py create_affiliate`, which validate the
        # username and write its history row.
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        extra_context["can_impersonate"] = request.user.has_perm("affiliates.impersonate_affiliate")
        affiliate = self.get_object(request, object_id)
        if affiliate is not None:
            sections = (section(request, affiliate) for section in AFFILIATE_PAGE_SECTIONS)
            extra_context["summary_sections"] = [s for s in sections if s is not None]
            if affiliate.status == Affiliate.Status.APPLIED:
                extra_context["queue_url"] = applications_url()
        return super().change_view(request, object_id, form_url, extra_context)
