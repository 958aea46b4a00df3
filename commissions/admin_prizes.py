"""Admin for the monthly prizes: the budget (editable: amounts typed as money, stored in
minor units of the program currency) and the rounds and awards (read-only: written only by
commissions.services.prizes; a prize paid is a ledger entry, never edited)."""

from django.conf import settings
from django.contrib import admin

from affiliates.admin_display import NoDeleteMixin, money_column
from commissions.prize_models import PrizeAward, PrizePlace, PrizeRound
from config.admin_fields import MoneyRateFieldsMixin


@admin.register(PrizePlace)
class PrizePlaceAdmin(MoneyRateFieldsMixin, admin.ModelAdmin):
    """One row per paid place; a contest's number of rows is its N. An edit applies to
    months awarded afterwards (awards keep the amount they were paid)."""

    money_fields = ("amount",)
    list_display = [
        "contest",
        "rank",
        money_column("amount", currency=settings.PROGRAM_CURRENCY, description="Amount"),
    ]
    list_filter = ["contest"]
    ordering = ["contest", "rank"]


class ReadOnly(NoDeleteMixin, admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PrizeRound)
class PrizeRoundAdmin(ReadOnly):
    list_display = ["month", "contest", "qualifiers", "awarded_at"]
    list_filter = ["contest"]


@admin.register(PrizeAward)
class PrizeAwardAdmin(ReadOnly):
    list_display = [
        "month",
        "contest",
        "rank",
        "affiliate",
        money_column("amount", description="Prize"),
        money_column("revenue", description="Revenue"),
    ]
    list_filter = ["contest", "month"]
    list_select_related = ["affiliate"]
