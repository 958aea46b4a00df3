"""Celery entry points: ids in, one service call each. All safe to run twice.

Tasks import the ingest pipeline and the services; neither imports this module — they
queue work here by task name (config.queue.enqueue_on_commit), so there is no cycle."""

from __future__ import annotations

from datetime import date, datetime

from celery import shared_task
from django.utils import timezone

import commissions.gateways.stripe as stripe_gateway
from commissions import ingest, ledger_rollups, referral_stats, rollups, services
from commissions.models import StoredEvent
from commissions.prize_selectors import previous_month
from commissions.services import perks
from commissions.services.prizes import award_prizes

# Batches per approval task run; past that the task re-enqueues itself with the same cutoff.
APPROVAL_BATCHES_PER_RUN = 100


@shared_task(name="commissions.process_event")
def process_event_task(event_pk: int) -> str:
    """Stage two for one stored event; queued on commit by commissions.ingest.store."""
    event = StoredEvent.objects.filter(
        pk=event_pk, processed_at__isnull=True, parked_at__isnull=True
    ).first()
    if event is None:
        return "gone"  # processed already (by the sweeper or an earlier delivery), or parked
    return ingest.process_event(event=event, now=timezone.now())


@shared_task(name="commissions.process_pending_events")
def process_pending_events_task() -> dict[str, int]:
    """Sweeper: stored events not yet processed (or due for a retry), signup bounties whose
    task was lost, payments waiting for an exchange rate that is now known (the on-commit
    task after a rate was saved may have been lost), the money columns of the daily
    rollups, and the ledger's daily rollup (commissions.ledger_rollups)."""
    now = timezone.now()
    counts = ingest.process_pending_events(now=now, limit=20_000)
    counts["signups"] = services.write_missing_signup_entries(now=now)
    counts["waiting_payments"] = services.process_waiting_payments(now=now)
    counts["rollup_rows"] = rollups.refresh_daily_money(now=now)
    counts["referral_stats"] = referral_stats.refresh_referral_stats(now=now)
    counts["ledger_days"] = ledger_rollups.refresh_ledger_days()
    return counts


@shared_task(name="commissions.process_waiting_payments")
def process_waiting_payments_task(currency: str | None = None) -> int:
    """Enqueued on commit of a new exchange rate: the payments that waited for it."""
    return services.process_waiting_payments(now=timezone.now(), currency=currency)


@shared_task(name="commissions.record_signup_commission")
def record_signup_commission_task(referral_id: int) -> bool:
    return (
        services.record_signup_commission(referral_id=referral_id, now=timezone.now()) is not None
    )


@shared_task(name="commissions.approve_due_commissions")
def approve_due_commissions_task(now: str | None = None) -> dict[str, int | bool]:
    cutoff = datetime.fromisoformat(now) if now else timezone.now()
    result = services.approve_due_commissions(now=cutoff, max_batches=APPROVAL_BATCHES_PER_RUN)
    if result.more:
        approve_due_commissions_task.delay(now=cutoff.isoformat())
    return {"approved": result.approved, "declined": result.declined, "more": result.more}


@shared_task(
    name="commissions.sync_stripe",
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=True,
    max_retries=5,
)
def sync_stripe_task() -> dict[str, int]:
    if not stripe_gateway.is_enabled():
        return {"skipped": 1}
    return ingest.sync_stripe(now=timezone.now())


@shared_task(name="commissions.award_prizes")
def award_prizes_task(month: str | None = None) -> dict[str, str]:
    """The monthly prizes for `month` ("YYYY-MM"; default: last month). Safe to repeat: a
    month already decided writes nothing (commissions.services.prizes)."""
    now = timezone.now()
    chosen = date.fromisoformat(f"{month}-01") if month else previous_month(now)
    results = award_prizes(month=chosen, now=now)
    return {r.contest: r.outcome for r in results}


@shared_task(name="commissions.refresh_early_access")
def refresh_early_access_task() -> dict[str, int]:
    """Daily: early access for the affiliates active in the last 30 days (a click or a new
    referral), taken back from those no longer active; values set by hand stay. Repeatable:
    a second run the same day finds nothing to change."""
    return perks.refresh_early_access(now=timezone.now()).counts()


@shared_task(name="commissions.grant_two_weekly_payouts")
def grant_two_weekly_payouts_task() -> dict[str, int]:
    """Monthly (the 1st, before the payout run): two-weekly payouts for affiliates whose
    last month's sales pass settings.TWO_WEEKLY_PAYOUT_SALES; values set by hand stay."""
    return perks.grant_two_weekly_payouts(now=timezone.now()).counts()
