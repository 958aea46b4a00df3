"""Endpoints, the outbox of deliveries, and the log of every attempt."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

# Every event type an endpoint may subscribe to (README "Outbound webhooks" documents the
# payloads).
EVENT_TYPES = (
    "affiliate.applied",
    "affiliate.approved",
    "referral.created",
    "commission.created",
    "commission.approved",
    "payout.paid",
    "payout.failed",
    "prize.awarded",
)


class Endpoint(models.Model):
    """A receiver URL and what it subscribed to. The secret signs every delivery; it is
    shown once, when the endpoint is created, and never again (admin leaves it out)."""

    url = models.URLField(max_length=2000)
    # Event types this endpoint gets; an empty list means every type.
    events = models.JSONField(default=list, blank=True)
    secret = models.CharField(max_length=100, editable=False)
    description = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    # Failed attempts since the last 2xx (reset by one), shown in admin.
    failure_count = models.IntegerField(default=0)
    # The first failed attempt since the last 2xx: the endpoint is disabled when a message
    # exhausts its retries (~3 days) and nothing succeeded since before its first attempt.
    failing_since = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=100, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class Delivery(models.Model):
    """One message to one endpoint: the outbox row, written in the transaction of the
    change it reports. `webhook_id` and `body` are fixed at that moment, so every retry
    sends the same id and the same bytes (only the timestamp and signature are new)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    webhook_id = models.CharField(max_length=40)
    event_type = models.CharField(max_length=40)
    # Natural key of the event (e.g. "commission.created:123"): one delivery per endpoint
    # and key however often the emitting code runs. Null for events without one.
    event_key = models.CharField(max_length=200, null=True, blank=True)
    body = models.TextField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    # Attempts in the current schedule (a resend from admin starts a new one at 0).
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Compare-and-set claim: a sender takes the delivery by swapping in its token while no
    # lease runs; a crashed sender's lease expires and the sweeper claims it again.
    token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=100, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "webhook_id"], name="one_delivery_per_endpoint_message"
            ),
            models.UniqueConstraint(
                fields=["endpoint", "event_key"], name="one_delivery_per_endpoint_event"
            ),
        ]
        indexes = [
            # The sweeper (every 15 s) reads only pending rows by due time.
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_pending_due",
                condition=models.Q(state="pending"),
            ),
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_id} → {self.endpoint_id} ({self.state})"


class Attempt(models.Model):
    """Append-only: one row per HTTP attempt, with the response code or the error."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    status_code = models.IntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.IntegerField()
    ok = models.BooleanField()

    class Meta:
        ordering = ["delivery", "at", "pk"]

    def __str__(self) -> str:
        return (
            f"{self.delivery_id} at {self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"
        )
