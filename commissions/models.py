"""Payments in, refunds, disputes, stored provider events, and the append-only ledger."""

from __future__ import annotations

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from affiliates.models import Affiliate

# The ledger's rollup models live beside it; imported here so Django registers them.
from commissions.ledger_models import LedgerDay, LedgerDayDue, earning_day  # noqa: F401
from commissions.prize_models import Contest, PrizeAward, PrizePlace, PrizeRound  # noqa: F401
from commissions.querysets import CommissionEntryQuerySet, LedgerImmutableError
from config.money import format_money
from tracking.models import Referral


class StoredEvent(models.Model):
    """A provider event stored verbatim (stage one). Stage two (commissions.ingest) turns it
    into payments, refunds, disputes and entries; re-running stage two never asks the
    provider again. `processed_at` / `outcome` are bookkeeping, not history: reprocessing
    clears them and the ledger's unique constraints make the rerun insert only what is missing.
    Payments and refunds posted to the API are stored here too (provider "api")."""

    class Provider(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        API = "api", "Payments API"

    class Via(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        SYNC = "sync", "Events sync"
        API = "api", "API call"

    provider = models.CharField(max_length=16, choices=Provider.choices)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    via = models.CharField(max_length=16, choices=Via.choices)
    created = models.DateTimeField(help_text="When the provider created the event.")
    payload = models.JSONField()
    # The body and Stripe-Signature header exactly as a webhook delivered them, so a stored
    # event can be verified again (the signature is over these bytes; `payload` is parsed
    # JSON and re-serialising it does not give them back). Null/blank for events not
    # delivered signed: the events sync (a list page, one body for many events, unsigned),
    # API submissions, and rows stored before these columns existed.
    raw_body = models.BinaryField(null=True)
    signature = models.TextField(blank=True, help_text="The Stripe-Signature header received.")
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # A failed event is retried with exponential backoff (stage two skips it until
    # `next_attempt_at`), and after events.MAX_ATTEMPTS failures it is parked: left alone
    # until a person retries it from admin (or `process_events --reprocess`), so one poison
    # event costs a bounded amount of work and never blocks the others.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    parked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="one_stored_event_per_id")
        ]
        indexes = [
            # The sweeper and stage two read unprocessed events in created order.
            models.Index(
                fields=["created", "id"],
                name="event_unprocessed",
                condition=models.Q(processed_at__isnull=True),
            ),
            models.Index(fields=["created"], name="event_created"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.event_id}"


class SyncCursor(models.Model):
    """Where the catch-up sync of a provider's event list stopped (unix seconds)."""

    name = models.CharField(max_length=64, unique=True)
    created_gte = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} ≥ {self.created_gte}"


class StripeCustomerLink(models.Model):
    """A Stripe customer tied to the product's customer id, learnt from the customer's
    `metadata.ambassador_customer_id` or a Checkout session's `client_reference_id`."""

    stripe_customer_id = models.CharField(max_length=255, unique=True)
    customer_id = models.CharField(max_length=200)
    how = models.CharField(max_length=64)
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "Stripe customer link"
        verbose_name_plural = "Stripe customer links"

    def __str__(self) -> str:
        return f"{self.stripe_customer_id} = {self.customer_id}"


class ExchangeRate(models.Model):
    """Admin-maintained rates: `rate` program-currency units per one unit of `currency`,
    valid from `valid_from` until the next row. Used when the provider gives no rate."""

    currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=20, decimal_places=10)
    valid_from = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "valid_from"], name="one_rate_per_start")
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} from {self.valid_from:%Y-%m-%d}"


class Payment(models.Model):
    """A payment by a referred customer. Money columns are written once; `refunded_amount`
    and `dispute_state` are the payment's current status (Refund / Dispute rows are the
    history)."""

    class DisputeState(models.TextChoices):
        NONE = "", _("None")
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    class Status(models.TextChoices):
        # Entries written (or none earned).
        COMPUTED = "computed", _("Computed")
        # Stored, but its entries wait for an exchange rate: its own currency has no rate
        # at `paid_at` (fx_rate / program_amount are null), or its earner's tier depends on
        # last month's sales, which include a payment still without one (`blocked_by`).
        # Never computed on a guessed rate; services.fx.process_waiting_payments finishes it
        # when the rate is entered. `status_reason` says what a person has to do.
        WAITING_FOR_RATE = "waiting_for_rate", _("Waiting for an exchange rate")

    provider = models.CharField(max_length=16, choices=StoredEvent.Provider.choices)
    external_id = models.CharField(max_length=255, help_text="Stripe invoice id or API payment_id.")
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="payments")
    customer_id = models.CharField(max_length=200)
    amount = models.BigIntegerField(help_text="Minor units paid, net of tax.")
    tax = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    paid_at = models.DateTimeField()
    product_plan = models.CharField(max_length=120, blank=True)
    subscription_id = models.CharField(max_length=255, blank=True)
    is_first = models.BooleanField(help_text="The customer's first payment.")
    charge_id = models.CharField(max_length=255, blank=True, db_index=True)
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    # fx_rate, fx_source and program_amount are written once: at insert, or (from null) when
    # a payment waiting for its rate gets one.
    fx_rate = models.DecimalField(
        max_digits=20,
        decimal_places=10,
        null=True,
        blank=True,
        help_text="Program-currency units per unit; empty while no rate is known.",
    )
    fx_source = models.CharField(max_length=32, blank=True)
    program_amount = models.BigIntegerField(
        null=True, blank=True, help_text="`amount` in the program currency; empty without a rate."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPUTED)
    status_reason = models.CharField(max_length=255, blank=True)
    blocked_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The earlier payment without a rate that this one's tier depends on.",
    )
    refunded_amount = models.BigIntegerField(default=0)
    dispute_state = models.CharField(
        max_length=8, choices=DisputeState.choices, default=DisputeState.NONE, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "external_id"], name="one_payment_per_id"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="payment_amount_gte_0"),
        ]
        indexes = [
            models.Index(fields=["referral", "paid_at"], name="payment_customer_time"),
            # The program dashboard's paying customers of a period and the tier's previous
            # month's sales: a range over the period's payments, not every payment.
            models.Index(fields=["paid_at", "referral"], name="payment_paid_time"),
            # The program dashboard's retention: the customers with a payment refunded or
            # lost to a dispute (whose first kept payment may be a later one), read without
            # scanning every payment.
            models.Index(
                fields=["referral"],
                name="payment_undone",
                condition=models.Q(refunded_amount__gt=0) | models.Q(dispute_state="lost"),
            ),
            # The "needs attention" list and the sweep of payments waiting for a rate.
            models.Index(
                fields=["paid_at"],
                name="payment_waiting",
                condition=models.Q(status="waiting_for_rate"),
            ),
            # "Is any payment still without a program amount?" — asked per batch before a
            # tiered commission is computed.
            models.Index(
                fields=["paid_at"],
                name="payment_unconverted",
                condition=models.Q(program_amount__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {format_money(self.amount, self.currency)}"


class Refund(models.Model):
    """A refund, full or partial. `payment` stays null while its payment has not arrived
    (events are unordered); it is applied once both exist (`applied_at`)."""

    provider = models.CharField(max_length=16, choices=StoredEvent.Provider.choices)
    external_id = models.CharField(max_length=255)
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    payment_ref = models.CharField(
        max_length=255, help_text="Payment external id, charge id or payment intent id."
    )
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    refunded_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "external_id"], name="one_refund_per_id"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_gt_0"),
        ]
        indexes = [models.Index(fields=["payment_ref"], name="refund_payment_ref")]

    def __str__(self) -> str:
        return f"{self.external_id} {format_money(self.amount, self.currency)}"


class Dispute(models.Model):
    """A chargeback. Open: the payment's pending entries are frozen. Lost: like a full
    refund. Won: released."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    provider = models.CharField(max_length=16, choices=StoredEvent.Provider.choices)
    external_id = models.CharField(max_length=255)
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="disputes"
    )
    payment_ref = models.CharField(max_length=255)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True, help_text="When a loss was booked.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "external_id"], name="one_dispute_per_id")
        ]
        indexes = [models.Index(fields=["payment_ref"], name="dispute_payment_ref")]

    def __str__(self) -> str:
        return f"{self.external_id} {self.status}"


class PlanChange(models.Model):
    """A referred customer's product plan as a subscription event reported it (upgrade,
    downgrade, cancellation). Read by rollups and plan bonuses' audit trail."""

    event_id = models.CharField(max_length=255, unique=True)
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="plan_changes")
    subscription_id = models.CharField(max_length=255)
    product_plan = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=32)
    changed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["referral", "changed_at"], name="plan_change_customer")]

    def __str__(self) -> str:
        return f"{self.referral_id} {self.product_plan} {self.status}"


class CommissionEntry(models.Model):
    """One line of the ledger. Append-only: amount, currency, rule, rate, base and source are
    written once and never change (a database trigger on PostgreSQL, `save()` here); a later
    event adds a new entry (a clawback is negative). Only `state` moves, by compare-and-set
    along TRANSITIONS (commissions.services.ledger.move_entries), stamping the milestone's
    STATE_TIMESTAMPS column. Bulk writes are guarded by its QuerySet (commissions.querysets),
    which is also its base manager's, so no manager Django hands out skips the guard."""

    class Kind(models.TextChoices):
        SIGNUP = "signup", _("Signup bounty")
        FIRST_PAYMENT = "first_payment", _("First payment")
        RECURRING = "recurring", _("Recurring payment")
        PLAN_BONUS = "plan_bonus", _("Plan bonus")
        CLAWBACK = "clawback", _("Clawback")
        ADJUSTMENT = "adjustment", _("Adjustment")
        PRIZE = "prize", _("Prize")

    class State(models.TextChoices):
        PENDING = "pending", pgettext_lazy("commission state", "Pending")
        APPROVED = "approved", pgettext_lazy("commission state", "Approved")
        DECLINED = "declined", _("Declined")
        IN_PAYOUT = "in_payout", _("In payout")
        PAID = "paid", pgettext_lazy("commission state", "Paid")

    class SourceType(models.TextChoices):
        SIGNUP = "signup", _("Signup (referral)")
        PAYMENT = "payment", _("Payment")
        REFUND = "refund", _("Refund")
        DISPUTE = "dispute", _("Dispute")
        ADMIN = "admin", pgettext_lazy("entry source", "Admin")
        PRIZE = "prize", _("Prize")

    # The only state moves allowed; anything else is refused.
    TRANSITIONS: dict[str, set[str]] = {
        State.PENDING: {State.APPROVED, State.DECLINED},
        State.APPROVED: {State.IN_PAYOUT},
        State.IN_PAYOUT: {State.PAID, State.APPROVED},  # approved again when a payout fails
    }
    # The column each state's move stamps (pending is the state an entry is written in).
    STATE_TIMESTAMPS: dict[str, str] = {
        State.APPROVED: "approved_at",
        State.DECLINED: "declined_at",
        State.IN_PAYOUT: "in_payout_at",
        State.PAID: "paid_at",
    }
    # The states a balance sums (declined entries count nowhere).
    BALANCE_STATES = (State.PENDING, State.APPROVED, State.IN_PAYOUT, State.PAID)
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
        "payment_id",
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
    # The payment the entry's money comes from (also for entries written by its refunds and
    # disputes): the approval job reads its refund / dispute status through it.
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="entries"
    )
    # The UTC day the money belongs to (commissions/rollups.py's rule), set at insert by
    # commissions.ledger_rollups; null only for a row written around insert_entries, which
    # the ledger sweep stamps. Keys the LedgerDay rollup.
    earned_on = models.DateField(null=True, blank=True)

    objects = CommissionEntryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "commission entries"
        # Django's base manager (forward relations, refresh_from_db) is a plain Manager
        # unless named: ours, so it too refuses bulk changes of money and deletes.
        base_manager_name = "objects"
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
            # The overview's payout forecast: what of the affiliate's pending entries clears
            # by the next run, per currency (an index-only scan).
            models.Index(
                fields=["affiliate", "currency", "approve_after", "amount"],
                name="entry_pending_clearing",
                condition=models.Q(state="pending"),
            ),
            # The affiliate's history newest first (a page is an index range, no sort), and
            # its totals per currency and state (an index-only scan).
            models.Index(
                fields=["affiliate", "-created_at", "-id"], name="entry_affiliate_created"
            ),
            models.Index(
                fields=["affiliate", "currency", "state", "amount"], name="entry_affiliate_totals"
            ),
            # A marked day read live, per affiliate or program-wide; rows still to stamp.
            models.Index(fields=["affiliate", "earned_on"], name="entry_affiliate_earned"),
            models.Index(fields=["earned_on"], name="entry_earned"),
            models.Index(
                fields=["id"], name="entry_unstamped", condition=models.Q(earned_on__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        money = format_money(self.amount, self.currency)
        return f"{self.kind} {money} → {self.affiliate_id} ({self.state})"

    def save(self, *args: object, **kwargs: object) -> None:
        # The model-level half of the append-only rule (PostgreSQL also has a trigger):
        # an existing row may change its state columns only.
        if self.pk is not None and not self._state.adding:
            stored = type(self).objects.filter(pk=self.pk).values(*self.IMMUTABLE_FIELDS).first()
            if stored is not None:
                changed = [f for f in self.IMMUTABLE_FIELDS if stored[f] != getattr(self, f)]
                if changed:
                    raise LedgerImmutableError(
                        f"Commission entries are append-only: {changed} cannot change."
                    )
        # A row saved one by one (admin, fixtures) keeps the daily rollup as insert_entries
        # and move_entries do: its earning day stamped, the day marked due in the same
        # transaction (the rollup reads a marked day live until the sweep recomputes it).
        if self.earned_on is None:
            self.earned_on = earning_day(self)
        with transaction.atomic(savepoint=False):
            super().save(*args, **kwargs)  # type: ignore[arg-type]
            LedgerDayDue.objects.create(affiliate_id=self.affiliate_id, day=self.earned_on)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise LedgerImmutableError("Commission entries are append-only: they cannot be deleted.")
