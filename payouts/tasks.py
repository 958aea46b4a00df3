"""Celery entry points: ids in, one service call. Every task is safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from payouts import services
from payouts.gateways.base import TransientError

# Transient provider errors only (network, timeout, 5xx): the service has already marked the
# payout `unknown`, and the retry asks the provider before anything is re-sent.
RETRY = {
    "autoretry_for": (TransientError,),
    "retry_backoff": 30,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 10,
}


@shared_task(name="payouts.run_payouts")
def run_payouts_task(two_weekly_only: bool = False) -> list[str]:
    return services.run_payouts(now=timezone.now(), two_weekly_only=two_weekly_only).lines


@shared_task(name="payouts.send_paypal_batch", **RETRY)
def send_paypal_batch_task(batch_id: int) -> str:
    return services.send_paypal_batch(batch_id=batch_id, now=timezone.now())


@shared_task(name="payouts.send_stripe_payout", **RETRY)
def send_stripe_payout_task(payout_id: int) -> str:
    return services.send_stripe_payout(payout_id=payout_id, now=timezone.now())


@shared_task(name="payouts.poll_payouts")
def poll_payouts_task() -> dict[str, int]:
    return services.poll_payouts(now=timezone.now())


@shared_task(name="payouts.refresh_onboarding_accounts")
def refresh_onboarding_accounts_task() -> dict[str, int]:
    return services.refresh_onboarding_accounts(now=timezone.now())


@shared_task(name="payouts.process_paypal_event", **RETRY)
def process_paypal_event_task(event_id: int) -> str:
    return services.process_paypal_event(event_pk=event_id, now=timezone.now())


@shared_task(name="payouts.notify_payout")
def notify_payout_task(payout_id: int) -> bool:
    return services.notify_payout(payout_id=payout_id)


@shared_task(name="payouts.notify_run_summary")
def notify_run_summary_task(run_id: int) -> int:
    return services.notify_run_summary(run_id=run_id)
