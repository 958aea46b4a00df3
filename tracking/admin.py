"""The affiliates admin list with its last-30-day columns, which need tracking's rollups.

affiliates.admin registers AffiliateAdmin without them: affiliates sits below tracking and
must not read its tables. This module, above it, re-registers a subclass that adds the two
annotated columns. Admin autodiscovery imports admin modules in INSTALLED_APPS order, and
"tracking" comes after "affiliates", so the base is registered when this runs.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from affiliates.admin import AffiliateAdmin as BaseAffiliateAdmin
from affiliates.models import Affiliate
from config.money import format_money
from tracking.models import DailyStat

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


from tracking import admin_creatives  # noqa: E402, F401  (registers CreativeAdmin)
