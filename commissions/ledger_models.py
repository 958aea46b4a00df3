"""The ledger's daily rollup (commissions.ledger_rollups keeps it): per affiliate, earning
day (CommissionEntry.earned_on), currency and state, the entries' amount and count. Kept
apart from models.py (the ledger itself) and imported there so Django finds it."""

from __future__ import annotations

import re
from datetime import UTC, date
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from affiliates.models import Affiliate
from tracking.models import Referral

# A signup bounty's source_id that names a referral pk (fits a bigint; nothing else is cast).
SIGNUP_ID = re.compile(r"[0-9]{1,18}")


def earning_day(entry: Any) -> date:
    """The UTC day a commission entry's money belongs to (commissions/ledger_rollups.py's
    rule): its payment's paid day, a signup bounty's signup day, else the day written."""
    if entry.payment_id is not None:
        return entry.payment.paid_at.astimezone(UTC).date()
    written = entry.created_at
    if entry.source_type == "signup" and SIGNUP_ID.fullmatch(entry.source_id):
        signed_up = Referral.objects.filter(pk=int(entry.source_id)).values_list(
            "created_at", flat=True
        )
        written = signed_up.first() or written
    return written.astimezone(UTC).date()


class LedgerDay(models.Model):
    """Sum and count of the entries of one (affiliate, earned_on, currency, state). Derived:
    rewritten whole for a marked (affiliate, day) by the sweeper, never edited by hand."""

    id = models.BigAutoField(primary_key=True)
    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    currency = models.CharField(max_length=3)
    state = models.CharField(max_length=16)
    amount = models.BigIntegerField(default=0)
    entries = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("ledger day")
        verbose_name_plural = _("ledger days")
        constraints = [
            models.UniqueConstraint(
                fields=["affiliate", "day", "currency", "state"], name="one_ledger_day_row"
            )
        ]
        # The program's reads are by day across affiliates (the unique index serves an
        # affiliate's).
        indexes = [models.Index(fields=["day"], name="ledger_day_day")]

    def __str__(self) -> str:
        return f"{self.affiliate_id} {self.day} {self.amount} {self.currency} {self.state}"


class LedgerDayDue(models.Model):
    """An (affiliate, earning day) whose LedgerDay rows must be recomputed: written in the
    same transaction as the entry inserted or moved, cleared by the sweep that recomputed
    it. Append-only, no unique key (as tracking.DailyStatMoneyDue): writers never wait on
    one another for a hot (affiliate, today) row; the sweep folds duplicates. Readers take
    a marked day from the ledger itself, so the figures never lag a sweep."""

    id = models.BigAutoField(primary_key=True)
    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()

    class Meta:
        verbose_name = _("ledger day due")
        verbose_name_plural = _("ledger days due")
        indexes = [
            models.Index(fields=["affiliate", "day"], name="ledger_due_affiliate_day"),
            models.Index(fields=["day"], name="ledger_due_day"),
        ]

    def __str__(self) -> str:
        return f"{self.affiliate_id} {self.day}"
