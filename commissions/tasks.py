"""Celery entry points: ids in, one service call each. All safe to run twice."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone

# Batches per approval task run; past that the task re-enqueues itself with the same cutoff.
APPROVAL_BATCHES_PER_RUN = 100


@shared_task(name="commissions.process_event")
def process_event_task(event_pk: int) -> str:
    from commissions.events import process_event
    from commissions.models import StoredEvent

    event = StoredEvent.objects.filter(
        pk=event_pk, processed_at__isnull=True, parked_at__isnull=True
    ).first()
    if event is None:
        return "gone"  # processed already (by the sweeper or an earlier delivery), or parked
    return process_event(event=event, now=timezone.now())


@shared_task(name="commissions.process_pending_events")
def process_pending_events_task() -> dict:
    """Sweeper: stored events not yet processed (or due for a retry), signup bounties whose
    task was lost, payments waiting for an exchange rate that is now known (the on-commit
    task after a rate was saved may have been lost), and the money columns of the daily
    rollups."""
    from commissions import rollups
    from commissions.events import process_pending_events
    from commissions.services import process_waiting_payments, write_missing_signup_entries

    now = timezone.now()
    counts = process_pending_events(now=now, limit=20_000)
    counts["signups"] = write_missing_signup_entries(now=now)
    counts["waiting_payments"] = process_waiting_payments(now=now)
    counts["rollup_rows"] = rollups.refresh_daily_money(now=now)
    return counts


@shared_task(name="commissions.process_waiting_payments")
def process_waiting_payments_task(currency: str | None = None) -> int:
    """Enqueued on commit of a new exchange rate: the payments that waited for it."""
    from commissions.services import process_waiting_payments

    return process_waiting_payments(now=timezone.now(), currency=currency)


@shared_task(name="commissions.record_signup_commission")
def record_signup_commission_task(referral_id: int) -> bool:
    from commissions.services import record_signup_commission

    return record_signup_commission(referral_id=referral_id, now=timezone.now()) is not None


@shared_task(name="commissions.approve_due_commissions")
def approve_due_commissions_task(now: str | None = None) -> dict:
    from commissions.services import approve_due_commissions

    cutoff = datetime.fromisoformat(now) if now else timezone.now()
    result = approve_due_commissions(now=cutoff, max_batches=APPROVAL_BATCHES_PER_RUN)
    if result.more:
        approve_due_commissions_task.delay(now=cutoff.isoformat())
    return {"approved": result.approved, "declined": result.declined, "more": result.more}


@shared_task(
    name="commissions.sync_stripe",
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=5,
)
def sync_stripe_task() -> dict:
    from commissions import stripe_client
    from commissions.events import sync_stripe

    if not stripe_client.is_enabled():
        return {"skipped": 1}
    return sync_stripe(now=timezone.now())
