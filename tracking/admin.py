"""The affiliates admin list with its last-30-day columns, the affiliate page's performance
box, and the referrals (customers brought) with their "why credited" trail.

affiliates.admin registers AffiliateAdmin without them: affiliates sits below tracking and
must not read its tables. This module, above it, re-registers a subclass that adds the two
annotated columns. Admin autodiscovery imports admin modules in INSTALLED_APPS order, and
"tracking" comes after "affiliates", so the base is registered when this runs. The same goes
for the referral admin: commissions.admin re-registers it with the customer's payments and
ledger entries, which this app may not read.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from affiliates.admin import AffiliateAdmin as BaseAffiliateAdmin
from affiliates.admin import PageSection, affiliate_page_section
from affiliates.admin_display import (
    AffiliateListFilter,
    NoDeleteMixin,
    link,
    money,
    short_time,
    time_column,
)
from affiliates.admin_export import ExportMixin, export_action, stamp
from affiliates.models import Affiliate
from config.money import format_money
from tracking import selectors
from tracking.models import ClaimCode, DailyStat, Referral

admin.site.unregister(Affiliate)


@admin.register(Affiliate)
class AffiliateAdmin(BaseAffiliateAdmin):
    list_display = [*BaseAffiliateAdmin.list_display, "clicks_30d", "earnings_30d"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Affiliate]:
        # Last-30-day figures from the daily rollups (never the raw clicks), one subquery
        # each.
        stats = DailyStat.objects.filter(
            affiliate=OuterRef("pk"), day__gt=timezone.now().date() - timedelta(days=30)
        )

        def total(column: str) -> Coalesce:
            summed = stats.values("affiliate").annotate(t=Sum(column)).values("t")
            return Coalesce(Subquery(summed), 0)

        return (
            super()
            .get_queryset(request)
            .annotate(_clicks_30d=total("clicks"), _earnings_30d=total("commission"))
        )

    @admin.display(description="Clicks (30 d)", ordering="_clicks_30d")
    def clicks_30d(self, obj: Affiliate) -> int:
        return obj._clicks_30d  # annotated by get_queryset

    @admin.display(description="Earned (30 d)", ordering="_earnings_30d")
    def earnings_30d(self, obj: Affiliate) -> str:
        return format_money(obj._earnings_30d, settings.PROGRAM_CURRENCY)


@affiliate_page_section
def performance_section(request: HttpRequest, affiliate: Affiliate) -> PageSection:
    """Clicks, signups, first payments, referred revenue and commission, last 30 days and
    all time, from the daily rollups in one aggregate (program currency)."""
    since = timezone.now().date() - timedelta(days=30)
    columns = ("clicks", "unique_clicks", "signups", "first_payments", "revenue", "commission")
    sums = {f"all_{c}": Sum(c) for c in columns} | {
        f"recent_{c}": Sum(c, filter=Q(day__gt=since)) for c in columns
    }
    totals = DailyStat.objects.filter(affiliate=affiliate).aggregate(**sums)

    def pair(column: str, as_money: bool = False) -> str:
        recent, every = totals[f"recent_{column}"] or 0, totals[f"all_{column}"] or 0
        if as_money:
            currency = settings.PROGRAM_CURRENCY
            return f"{money(recent, currency)} · {money(every, currency)}"
        return f"{recent:,} · {every:,}"

    referrals = reverse("admin:tracking_referral_changelist") + f"?affiliate={affiliate.pk}"
    return PageSection(
        title="Performance (last 30 days · all time)",
        rows=[
            ("Clicks", pair("clicks")),
            ("Unique clicks", pair("unique_clicks")),
            ("Signups", pair("signups")),
            ("Upgrades (first payments)", pair("first_payments")),
            ("Referred revenue", pair("revenue", as_money=True)),
            ("Commission", pair("commission", as_money=True)),
        ],
        links=[("Its referrals", referrals)],
    )


def why_trail(referral: Referral) -> str:
    """What credited whom, in words, from the referral's stored evidence: "Referral cookie
    from click 4711 on Nov. 2, 2026 via /blog/x/; cookie set 11/02/2026 noon" (the `why`
    text the signups API wrote is shown beside it)."""
    source = referral.get_source_display()
    if referral.source == Referral.Source.COOKIE and referral.click_id:
        click = None
        if referral.affiliate_id:
            click = selectors.click_of_affiliate(
                click_id=referral.click_id, affiliate_id=referral.affiliate_id
            )
        where = (
            f" on {date_format(timezone.localtime(click.at), 'DATE_FORMAT')} via "
            f"{click.landing_path}"
            if click
            else " (click not stored yet)"
        )
        text = f"{source} from click {referral.click_id}{where}"
    elif referral.source == Referral.Source.COUPON and referral.coupon_id:
        text = f"{source} {referral.coupon}"
    else:
        text = source
    if referral.cookie_set_at:
        text += f"; cookie set {short_time(referral.cookie_set_at)}"
    if referral.employee_id:
        text += f"; employee {referral.employee} named at upgrade"
    return text


export_referrals = export_action(
    name="referrals",
    columns=[
        ("customer_id", lambda r: r.customer_id),
        ("email", lambda r: r.email),
        ("affiliate", lambda r: r.affiliate.username if r.affiliate else ""),
        ("source", lambda r: r.source),
        ("why", lambda r: r.why),
        ("click_id", lambda r: r.click_id if r.click_id is not None else ""),
        ("coupon", lambda r: r.coupon.code if r.coupon else ""),
        ("employee", lambda r: r.employee.username if r.employee else ""),
        ("plan", lambda r: r.plan),
        ("created_at", lambda r: stamp(r.created_at)),
    ],
    prepare=lambda qs: qs.select_related("affiliate", "coupon", "employee").order_by("pk"),
)


class ReferralAdmin(ExportMixin, NoDeleteMixin, admin.ModelAdmin):
    """A customer brought by an affiliate: read-only here (attribution changes go through
    the signups and attributions API, which keep first-referrer-wins)."""

    list_display = [
        "customer_id",
        "email",
        "affiliate",
        "source",
        "plan",
        time_column("created_at", description="Signed up"),
    ]
    list_select_related = ["affiliate"]
    list_filter = ["source", AffiliateListFilter]
    list_per_page = 50
    search_fields = ["customer_id", "email", "stripe_customer_id", "affiliate__username"]
    date_hierarchy = "created_at"
    actions = [export_referrals]
    fieldsets = (
        (
            "Customer",
            {"fields": ("customer_id", "email", "plan", "stripe_customer_id", "created_at")},
        ),
        (
            "Why credited",
            {
                "fields": (
                    "affiliate_link",
                    "why_credited",
                    "source",
                    "click_id",
                    "cookie_set_at",
                    "coupon",
                    "why",
                )
            },
        ),
        ("Employee named at upgrade", {"fields": ("employee", "employee_at")}),
    )
    readonly_fields = [
        "customer_id",
        "email",
        "plan",
        "stripe_customer_id",
        "created_at",
        "affiliate_link",
        "why_credited",
        "source",
        "click_id",
        "cookie_set_at",
        "coupon",
        "why",
        "employee",
        "employee_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Affiliate")
    def affiliate_link(self, obj: Referral) -> str:
        if obj.affiliate is None:
            return "— (nobody credited)"
        url = reverse("admin:affiliates_affiliate_change", args=[obj.affiliate_id])
        return link(url, obj.affiliate.username)

    @admin.display(description="In words")
    def why_credited(self, obj: Referral) -> str:
        return why_trail(obj)


admin.site.register(Referral, ReferralAdmin)


# Register CreativeAdmin and ReferralClaimAdmin.
from tracking import admin_claims, admin_creatives  # noqa: E402, F401


@admin.register(ClaimCode)
class ClaimCodeAdmin(NoDeleteMixin, admin.ModelAdmin):
    """The mobile-install claim codes, read-only for staff (support asks "why was this app
    signup not credited?"): issued by GET /r/claim-code, spent by the signups API, deleted
    by the daily clean-up 30 days after they expire. Nobody adds or edits one here: a code
    typed by hand would credit an affiliate no visitor came from."""

    list_display = [
        "code",
        "affiliate",
        time_column("created_at", description="Issued"),
        time_column("expires_at", description="Expires"),
        time_column("used_at", description="Used"),
        "customer_id",
    ]
    list_select_related = ["affiliate"]
    list_filter = [AffiliateListFilter, ("used_at", admin.EmptyFieldListFilter)]
    search_fields = ["code", "customer_id", "affiliate__username"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]
    fields = [
        "code",
        "affiliate",
        "click_id",
        "cookie_set_at",
        "created_at",
        "expires_at",
        "used_at",
        "customer_id",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ClaimCode | None = None) -> bool:
        return False
