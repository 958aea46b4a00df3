"""Celery entry points of the tracking app (names fixed in config/celery.py's beat schedule)."""

from __future__ import annotations

from datetime import datetime

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


@shared_task(name="tracking.ensure_click_partitions")
def ensure_click_partitions_task() -> list[str]:
    """Create this month's and the next two months' click partitions (PostgreSQL; daily)."""
    return services.ensure_click_partitions(now=timezone.now())


@shared_task(name="tracking.purge_old_clicks")
def purge_old_clicks_task(now: str | None = None) -> int:
    """Drop clicks older than CLICK_RETENTION_DAYS (daily), and the claim codes long expired
    (tracking.services.claim_codes.PURGE_AFTER_EXPIRY). A run that ran out of batches
    re-enqueues itself with the same instant, so the cutoff does not move under it."""
    at = datetime.fromisoformat(now) if now else timezone.now()
    codes = services.purge_expired_claim_codes(now=at)
    purge = services.purge_old_clicks(now=at)
    if purge.more:
        purge_old_clicks_task.delay(now=at.isoformat())
    return purge.rows_deleted + len(purge.partitions_dropped) + codes
