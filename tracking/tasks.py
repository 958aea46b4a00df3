"""Celery entry points of the tracking app (names fixed in config/celery.py's beat schedule)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from tracking import services


@shared_task(name="tracking.flush_clicks")
def flush_clicks_task() -> int:
    """Bulk-insert clicks buffered in Redis (every 2 s); a no-op with CLICK_BUFFER=db."""
    return services.flush_clicks()


@shared_task(name="tracking.refresh_rollups")
def refresh_rollups_task() -> int:
    """Recompute today's and yesterday's click/signup rollups (every 30 s)."""
    return services.refresh_rollups(now=timezone.now())
