"""Payout methods, payout runs, payouts (one per affiliate and currency per run), the ledger
entries each payout carries, each payout's append-only history (PayoutEvent), PayPal
batches and stored PayPal webhook events.

Money is integer minor units beside an ISO currency. A payout's amount is the sum of its
items' amounts, written once at creation (`payouts.selectors.ledger_problems` proves it).
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from affiliates.models import Affiliate
from commissions.models import CommissionEntry, LedgerImmutableError
from config.money import format_money


def new_token() -> str:
    return secrets.token_urlsafe(24)


def new_key(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def new_run_key() -> str:
    return new_key("run")


class PayoutAccount(models.Model):
    """How an affiliate is paid, plus tax details kept for the admin's records.

    Anti-takeover: every change of method or details sets `details_changed_at`; payouts are
    held until 48 h after it (PAYOUT_DETAILS_HOLD_HOURS)."""

    class Method(models.TextChoices):
        NONE = "none", _("Not set")
        PAYPAL = "paypal", _("PayPal")
        STRIPE = "stripe", _("Stripe Connect")
        MANUAL = "manual", _("Manual (bank transfer)")

    class TaxForm(models.TextChoices):
        NONE = "", _("—")
        W9 = "w9", _("W-9 (US person)")
        W8BEN = "w8ben", _("W-8BEN (foreign individual)")
        W8BENE = "w8bene", _("W-8BEN-E (foreign entity)")

    affiliate = models.OneToOneField(
        Affiliate, on_delete=models.CASCADE, related_name="payout_account"
    )
    method = models.CharField(max_length=16, choices=Method.choices, default=Method.NONE)

    paypal_email = models.EmailField(blank=True)
    paypal_confirmed_at = models.DateTimeField(null=True, blank=True)
    # Sent by e-mail to paypal_email; cleared when used. A new address gets a new token.
    paypal_confirm_token = models.CharField(max_length=64, blank=True, db_index=True)

    stripe_account_id = models.CharField(max_length=64, blank=True, db_index=True)
    # Kept current from Stripe (`account.updated` webhooks, and re-read on onboarding return).
    stripe_payouts_enabled = models.BooleanField(default=False)
    stripe_checked_at = models.DateTimeField(
        null=True, blank=True, help_text="Time of the Stripe state we hold (events are unordered)."
    )

    bank_details = models.TextField(blank=True, help_text="Free text; the admin pays by hand.")

    details_changed_at = models.DateTimeField(null=True, blank=True)
    on_hold = models.BooleanField(default=False, help_text="Admin hold: no payouts while set.")
    hold_reason = models.CharField(max_length=200, blank=True)

    tax_legal_name = models.CharField(max_length=200, blank=True)
    tax_country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 alpha-2.")
    tax_id = models.CharField(max_length=64, blank=True)
    tax_form = models.CharField(max_length=8, choices=TaxForm.choices, blank=True)

    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.affiliate} ({self.method})"


class PayoutRun(models.Model):
    """One execution of the payout job. Its `key` names the PayPal batches derived from it.

    States: awaiting_approval → approved → completed (every payout paid or failed, set in
    the transaction that finalised the last one); `done` is a run that had nothing to send
    but recorded holds. A run that would pay and hold nothing new is not recorded."""

    class State(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        APPROVED = "approved", _("Approved (sending)")
        COMPLETED = "completed", _("Completed (every payout final)")
        DONE = "done", _("Nothing to send")

    # Read by payouts.services.transitions.move_run: every state change of a run follows it.
    TRANSITIONS: dict[str, set[str]] = {
        State.AWAITING_APPROVAL: {State.APPROVED, State.DONE},
        State.APPROVED: {State.COMPLETED, State.DONE},
    }

    key = models.CharField(max_length=64, unique=True, default=new_run_key)
    started_at = models.DateTimeField()
    two_weekly_only = models.BooleanField(default=False)
    state = models.CharField(max_length=24, choices=State.choices)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    payout_count = models.PositiveIntegerField(default=0)
    # {"USD": 123456, ...}: total minor units per currency put into payouts by this run.
    totals = models.JSONField(default=dict, blank=True)
    carried_count = models.PositiveIntegerField(
        default=0, help_text="Balances below threshold or negative, carried forward."
    )

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"Run {self.started_at:%Y-%m-%d %H:%M} ({self.state})"


class PayoutSkip(models.Model):
    """An affiliate whose balance was due but held back by a run, and why."""

    run = models.ForeignKey(PayoutRun, on_delete=models.CASCADE, related_name="skips")
    affiliate = models.ForeignKey(Affiliate, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField()
    reason = models.CharField(max_length=200)

    class Meta:
        verbose_name = "balance held back"
        verbose_name_plural = "balances held back"
        constraints = [
            # One balance (affiliate, currency) is held back at most once per run.
            models.UniqueConstraint(
                fields=["run", "affiliate", "currency"], name="one_skip_per_run_balance"
            )
        ]

    def __str__(self) -> str:
        return f"{self.affiliate}: {self.reason}"


class PayPalBatch(models.Model):
    """One PayPal Payouts call carrying ≤ 15,000 payouts. `sender_batch_id` is stored before
    the call and reused on every retry: PayPal pays a sender_batch_id at most once."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Accepted by PayPal"
        UNKNOWN = "unknown", "Unknown (reconcile)"
        # PayPal rejected our sender_batch_id as already used but the original batch cannot
        # be read. Re-sending cannot help (PayPal rejects the id for 30 days) and failing
        # would pay the entries again, so the sweeper leaves it and a person resolves its
        # payouts (left `unknown`): mark them paid, or failed, after checking PayPal.
        UNRESOLVED = "unresolved", "Already sent; original not found (resolve by hand)"
        FAILED = "failed", "Refused by PayPal"
        DONE = "done", "Every item final"

    # Read by payouts.services.transitions.move_batch. A batch left `sending` (the worker
    # died mid-call) is sent again as it is: a retry, not a state change. Any batch but a
    # refused one is `done` once none of its payouts is open (a person may settle the
    # payouts of a pending or unresolved batch by hand).
    TRANSITIONS: dict[str, set[str]] = {
        State.PENDING: {State.SENDING, State.DONE},
        State.SENDING: {State.SENT, State.UNKNOWN, State.UNRESOLVED, State.FAILED, State.DONE},
        State.UNKNOWN: {State.SENDING, State.DONE},
        State.SENT: {State.DONE},
        State.UNRESOLVED: {State.DONE},
    }

    run = models.ForeignKey(PayoutRun, on_delete=models.PROTECT, related_name="paypal_batches")
    sender_batch_id = models.CharField(max_length=64, unique=True)
    provider_batch_id = models.CharField(max_length=64, blank=True, db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    provider_status = models.CharField(max_length=32, blank=True)
    response = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "PayPal batch"
        verbose_name_plural = "PayPal batches"

    def __str__(self) -> str:
        return self.sender_batch_id


class Payout(models.Model):
    """Money owed to one affiliate in one currency, taken from one run.

    States: pending → sending → paid | failed | unknown; unknown → paid | failed | sending
    (only after the provider was asked). `failed` returns the entries to approved.
    `unknown` is also where a PayPal payout waits for a person when PayPal says its batch
    was already sent but the original cannot be found (its batch is `unresolved`): never
    `failed`, which would pay it again."""

    class State(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        PENDING = "pending", pgettext_lazy("payout state", "Pending")
        SENDING = "sending", _("Sending")
        PAID = "paid", pgettext_lazy("payout state", "Paid")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Unknown (reconcile)")

    # Read by payouts.services.transitions.move_payouts, the one way a payout changes
    # state. Paid and failed are final (no way out). A retry while `sending` (the worker
    # died mid-call) is not a state change.
    TRANSITIONS: dict[str, set[str]] = {
        State.AWAITING_APPROVAL: {State.PENDING, State.FAILED},
        State.PENDING: {State.SENDING, State.PAID, State.FAILED},
        State.SENDING: {State.PAID, State.FAILED, State.UNKNOWN},
        State.UNKNOWN: {State.SENDING, State.PAID, State.FAILED},
    }

    run = models.ForeignKey(PayoutRun, on_delete=models.PROTECT, related_name="payouts")
    affiliate = models.ForeignKey(Affiliate, on_delete=models.PROTECT, related_name="payouts")
    amount = models.BigIntegerField(help_text="Minor units; the sum of the items.")
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=16, choices=PayoutAccount.Method.choices)
    # Where the money goes, copied from the PayoutAccount when the run creates the payout, so
    # a later change of details (even one still "held until…") cannot redirect it: sending,
    # the CSV exports and marking paid read these, never the live account.
    # `destination`: the PayPal e-mail or the Connect account id ("" for manual).
    destination = models.CharField(max_length=254, blank=True)
    bank_details = models.TextField(blank=True, help_text="Manual payouts: as at creation.")
    tax_legal_name = models.CharField(max_length=200, blank=True)
    tax_country = models.CharField(max_length=2, blank=True)
    tax_id = models.CharField(max_length=64, blank=True)
    tax_form = models.CharField(max_length=8, blank=True)
    state = models.CharField(max_length=24, choices=State.choices, db_index=True)
    # The items it was created with (runs._build_run writes both in one transaction, and a
    # payout's items never change), so a page of payouts shows each one's count without
    # counting thousands of items; null on a payout written without it (read as a count).
    entry_count = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # Generated and stored with the payout, before any provider call; reused on every retry
    # (Stripe Idempotency-Key). PayPal's equivalent is the batch's sender_batch_id.
    idempotency_key = models.CharField(max_length=64, unique=True)
    paypal_batch = models.ForeignKey(
        PayPalBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="payouts"
    )
    provider_id = models.CharField(max_length=64, blank=True, help_text="PayPal item / transfer.")
    provider_status = models.CharField(max_length=32, blank=True)
    provider_response = models.JSONField(default=dict, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    reference = models.CharField(max_length=200, blank=True, help_text="Manual payment ref.")
    reversed_amount = models.BigIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["affiliate", "state"], name="payout_affiliate_state")]
        # The CSV exports carry payout destinations, bank details, legal names and tax ids.
        # Not a view_* permission, so affiliates.roles gives it to Program managers (every
        # payouts permission) and never to Support (view_* only).
        permissions = [
            (
                "export_payout_destinations",
                "Can export payout destinations (bank details, legal names, tax ids)",
            )
        ]

    def __str__(self) -> str:
        return (
            f"Payout {self.pk} {format_money(self.amount, self.currency)} → {self.affiliate_id} "
            f"({self.state})"
        )


class PayoutEventImmutableError(LedgerImmutableError):
    """Raised when code tries to change or delete a payout's history row."""


class PayoutEventQuerySet(models.QuerySet):
    """Bulk writes that would bypass the model's guard are refused here too."""

    def update(self, **kwargs: object) -> int:
        raise PayoutEventImmutableError("Payout events are append-only: they cannot change.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PayoutEventImmutableError("Payout events are append-only: they cannot be deleted.")

    delete.queryset_only = True  # type: ignore[attr-defined]


class PayoutEvent(models.Model):
    """What happened to a payout, appended, never changed (healthchecks' Flip, Saleor's
    TransactionEvent): the first thing to read when asking "why was this paid twice?",
    since the payout's own provider_* columns hold only the latest answer.

    Written by payouts.services in the same transaction as what it records:
    - state_changed: every change of the payout's state (from_state "" at creation), with
      the provider's status, reference and answer, or the error, that caused it;
    - provider_call: a request that moves money (a PayPal batch, a Stripe transfer): what
      was sent and the idempotency key, committed before the call is made;
    - provider_answer: an answer that changed no state (a batch accepted, an item still
      unclaimed…); reads that change nothing (polls) are not recorded;
    - webhook: a provider's event about the payout that changed no state (a reversal).
    Who caused it: `actor` (a staff member) or `source` (the task, command or webhook)."""

    class Kind(models.TextChoices):
        STATE_CHANGED = "state_changed", "State changed"
        PROVIDER_CALL = "provider_call", "Provider called"
        PROVIDER_ANSWER = "provider_answer", "Provider answered"
        WEBHOOK = "webhook", "Webhook"

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24, blank=True)
    # Stripe's Idempotency-Key, or the PayPal batch's sender_batch_id.
    idempotency_key = models.CharField(max_length=64, blank=True)
    sent = models.JSONField(default=dict, blank=True, help_text="What was sent to the provider.")
    received = models.JSONField(default=dict, blank=True, help_text="The provider's answer.")
    provider_status = models.CharField(max_length=32, blank=True)
    # PayPal batch / item id, Stripe transfer id, or a manual payment's reference.
    provider_reference = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=64, blank=True, help_text="Task, command or webhook.")
    created_at = models.DateTimeField()

    objects = PayoutEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        change = f" {self.from_state or '—'} → {self.to_state}" if self.to_state else ""
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.kind}{change}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise PayoutEventImmutableError("Payout events are append-only: they cannot change.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PayoutEventImmutableError("Payout events are append-only: they cannot be deleted.")


class PayoutItem(models.Model):
    """One ledger entry carried by one payout. `live` is cleared when the payout fails (in the
    same transaction that returns the entry to approved); the partial unique constraint makes
    it impossible for an entry to sit in two live payouts, whatever runs at once."""

    payout = models.ForeignKey(Payout, on_delete=models.CASCADE, related_name="items")
    entry = models.ForeignKey(CommissionEntry, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    live = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entry"], condition=models.Q(live=True), name="entry_in_one_live_payout"
            ),
            models.UniqueConstraint(fields=["payout", "entry"], name="one_item_per_entry"),
        ]

    def __str__(self) -> str:
        # The item is in its entry's currency (a payout never mixes currencies).
        money = format_money(self.amount, self.entry.currency)
        return f"{self.payout_id}: entry {self.entry_id} {money}"


class PayPalEvent(models.Model):
    """A verified PayPal webhook, stored before processing (replays are harmless).

    `raw_body` is the request body byte for byte and `headers` its PayPal-* transmission
    headers (id, time, signature, certificate URL, algorithm): together they re-verify the
    stored event (PayPal signs the raw bytes; `body`, parsed, is what processing reads)."""

    event_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=64)
    body = models.JSONField()
    raw_body = models.BinaryField(default=b"", blank=True)
    headers = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "PayPal event"
        verbose_name_plural = "PayPal events"
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
