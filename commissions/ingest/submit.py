"""Payments and refunds reported through the API, stored as events of their own and run
through stage two at once, so the caller's response says what became of them (or the
service's 4xx). The API views (commissions.api) call submit_api_event; nothing else does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from commissions import selectors
from commissions.ingest.pipeline import process_event
from commissions.ingest.store import store_event
from commissions.models import StoredEvent
from config.errors import Conflict, ServiceError


def submit_api_event(
    *, kind: str, external_id: str, data: dict[str, Any], created: datetime, now: datetime
) -> tuple[StoredEvent, bool]:
    """Store a payment or refund reported through the API as an event of its own, and run
    stage two on it at once. Idempotent on the external id: the same content again returns
    the stored event; different content under the same id is a conflict (409). On any
    error nothing is stored."""
    event = {
        "id": f"{kind}:{external_id}",
        "type": f"api.{kind}",
        "created": int(created.timestamp()),
        "data": data,
    }
    with transaction.atomic():
        existing = selectors.one(StoredEvent.objects.filter(provider="api", event_id=event["id"]))
        if existing is not None:
            if existing.payload.get("data") != data:
                raise Conflict(
                    f"{kind} {external_id} was already reported with different content.",
                    code="idempotency_conflict",
                )
            return existing, False
        row, created_now = store_event(provider="api", event=event, via="api", now=now)
        if not created_now:  # lost a race with an identical call
            return submit_api_event(
                kind=kind, external_id=external_id, data=data, created=created, now=now
            )
        outcome = process_event(event=row, now=now)
        if outcome in ("error", "parked"):
            # Raising rolls the stored event back with everything else: the caller gets
            # the service's own 4xx (e.g. 409 refund_exceeds_payment) and may send it again.
            failure = getattr(row, "failure", None)
            if isinstance(failure, ServiceError):
                raise failure
            raise failure or ServiceError("Could not record it.")
        row.refresh_from_db()
        return row, True
