"""Monthly prizes (commissions.services.prizes awards them): the admin-editable budget, one
round per (month, contest), and the awards, each paid as one `prize` ledger entry. Kept
apart from models.py and imported there so Django finds them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from affiliates.models import Affiliate
from config.money import format_money


class Contest(models.TextChoices):
    # Employees (Affiliate.is_employee) never compete in the affiliates' contest.
    AFFILIATES = "affiliates", _("Top affiliates")
    EMPLOYEES = "employees", _("Employee of the month")


class PrizePlace(models.Model):
    """One paid place of a contest's monthly budget: rank 1 gets `amount`, and so on. The
    number of places is the contest's N (default 3 for affiliates: $100 / $50 / $25; one for
    employees: $50). Amounts are minor units of the program currency. Editing a place
    changes months awarded after the edit only (awards copy their amount)."""

    contest = models.CharField(max_length=16, choices=Contest.choices)
    rank = models.PositiveSmallIntegerField()
    amount = models.BigIntegerField(help_text=_("Minor units of the program currency."))

    class Meta:
        ordering = ["contest", "rank"]
        verbose_name = _("prize place")
        verbose_name_plural = _("prize budget")
        constraints = [
            models.UniqueConstraint(fields=["contest", "rank"], name="one_prize_place_per_rank"),
            models.CheckConstraint(condition=models.Q(rank__gte=1), name="prize_rank_gte_1"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="prize_amount_gt_0"),
        ]

    def __str__(self) -> str:
        money = format_money(self.amount, settings.PROGRAM_CURRENCY)
        return f"{self.get_contest_display()} #{self.rank}: {money}"


class PrizeRound(models.Model):
    """A contest decided for a month. Its unique (month, contest) is what makes awarding
    once per month: the award service inserts it first, in the transaction that writes the
    awards, so a second or concurrent run fails on it and writes nothing (also for a month
    with no winner)."""

    month = models.DateField(help_text=_("The first day of the month contested."))
    contest = models.CharField(max_length=16, choices=Contest.choices)
    awarded_at = models.DateTimeField(default=timezone.now)
    qualifiers = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-month", "contest"]
        verbose_name = _("prize round")
        constraints = [
            models.UniqueConstraint(fields=["month", "contest"], name="one_prize_round_per_month"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.contest}"


class PrizeAward(models.Model):
    """A prize won: the place, its winner, the revenue that won it and the amount paid (a
    copy of the budget at award time). The ledger entry it wrote has source_type "prize" and
    source_id `entry_source_id`."""

    round = models.ForeignKey(PrizeRound, on_delete=models.PROTECT, related_name="awards")
    month = models.DateField()
    contest = models.CharField(max_length=16, choices=Contest.choices)
    rank = models.PositiveSmallIntegerField()
    affiliate = models.ForeignKey(Affiliate, on_delete=models.PROTECT, related_name="prizes")
    revenue = models.BigIntegerField(help_text=_("Minor units of the program currency."))
    first_paid_at = models.DateTimeField(help_text=_("The earliest first payment counted."))
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    awarded_at = models.DateTimeField()

    class Meta:
        ordering = ["-month", "contest", "rank"]
        verbose_name = _("prize award")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "contest", "rank"], name="one_prize_per_month_contest_rank"
            ),
            models.UniqueConstraint(
                fields=["month", "contest", "affiliate"], name="one_prize_per_month_contest_winner"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.contest} #{self.rank} → {self.affiliate_id}"

    @property
    def entry_source_id(self) -> str:
        return prize_source_id(month=self.month, contest=self.contest, rank=self.rank)


def prize_source_id(*, month, contest: str, rank: int) -> str:
    """The ledger's natural key for a prize: one entry per (month, contest, rank)."""
    return f"{month:%Y-%m}:{contest}:{rank}"
