"""Payments in, refunds, disputes, stored provider events, and the append-only ledger."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from affiliates.models import Affiliate


class CommissionEntry(models.Model):
    """One line of the ledger. Append-only: amount, currency, rule, rate, base and source are
    written once and never change (a database trigger on PostgreSQL, `save()` here); a later
    event adds a new entry (a clawback is negative). Only `state` moves, by compare-and-set
    along TRANSITIONS (commissions.services.move_entries)."""

    class Kind(models.TextChoices):
        SIGNUP = "signup", "Signup bounty"
        FIRST_PAYMENT = "first_payment", "First payment"
        RECURRING = "recurring", "Recurring payment"
        PLAN_BONUS = "plan_bonus", "Plan bonus"
        CLAWBACK = "clawback", "Clawback"
        ADJUSTMENT = "adjustment", "Adjustment"
        PRIZE = "prize", "Prize"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        IN_PAYOUT = "in_payout", "In payout"
        PAID = "paid", "Paid"

    class SourceType(models.TextChoices):
        SIGNUP = "signup", "Signup (referral)"
        PAYMENT = "payment", "Payment"
        REFUND = "refund", "Refund"
        DISPUTE = "dispute", "Dispute"
        ADMIN = "admin", "Admin"
        PRIZE = "prize", "Prize"

    # The only state moves allowed; anything else is refused.
    TRANSITIONS: dict[str, set[str]] = {
        State.PENDING: {State.APPROVED, State.DECLINED},
        State.APPROVED: {State.IN_PAYOUT},
        State.IN_PAYOUT: {State.PAID, State.APPROVED},  # approved again when a payout fails
    }
    IMMUTABLE_FIELDS = (
        "kind",
        "affiliate_id",
        "amount",
        "currency",
        "source_type",
        "source_id",
        "rule",
        "rate_bp",
        "base_amount",
        "base_currency",
        "fx_rate",
        "created_at",
    )

    kind = models.CharField(max_length=16, choices=Kind.choices)
    affiliate = models.ForeignKey(
        Affiliate, on_delete=models.PROTECT, related_name="commission_entries"
    )
    amount = models.BigIntegerField(help_text="Minor units; negative for clawbacks.")
    currency = models.CharField(max_length=3)
    # What caused the entry: (source_type, source_id) names a Payment / Refund / Dispute /
    # Referral pk or an admin adjustment id. One entry per (source, kind, affiliate).
    source_type = models.CharField(max_length=16, choices=SourceType.choices)
    source_id = models.CharField(max_length=64)
    rule = models.CharField(max_length=200, help_text="The rule applied, in words.")
    rate_bp = models.IntegerField(
        null=True, blank=True, help_text="Basis points applied to the base."
    )
    base_amount = models.BigIntegerField(
        null=True, blank=True, help_text="Minor units the rate applied to."
    )
    base_currency = models.CharField(max_length=3, blank=True)
    fx_rate = models.DecimalField(
        max_digits=20,
        decimal_places=10,
        null=True,
        blank=True,
        help_text="Program-currency units per unit of `currency`, recorded with the payment.",
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    approve_after = models.DateTimeField(
        help_text="End of the hold; due for approval at or after it."
    )
    created_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    in_payout_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    state_note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_type", "source_id", "kind", "affiliate"],
                name="one_entry_per_source_kind_affiliate",
            ),
        ]
        indexes = [
            # The daily approval job scans only pending rows by hold end.
            models.Index(
                fields=["approve_after"],
                name="entry_pending_due",
                condition=models.Q(state="pending"),
            ),
            models.Index(fields=["affiliate", "state", "currency"], name="entry_balance"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} → {self.affiliate_id} ({self.state})"
