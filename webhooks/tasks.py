"""Celery entry points: ids in, one service call. Every task is safe to run twice (a
delivery's claim token is used up by its first run)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from webhooks import services


@shared_task(name="webhooks.send_delivery")
def send_delivery_task(delivery_id: int, token: str) -> str:
    return services.attempt_delivery(delivery_id=delivery_id, token=token, now=timezone.now())


@shared_task(name="webhooks.send_due_deliveries")
def send_due_deliveries_task() -> int:
    return services.send_due_deliveries(now=timezone.now())
