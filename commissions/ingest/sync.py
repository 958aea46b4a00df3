"""The catch-up sync: Stripe's event list pulled into the same store the webhook fills —
the safety net for deliveries that never arrived (Stripe keeps 30 days of events; the beat
runs this every 10 minutes). Stage one only: what it stores is processed like any event."""

from __future__ import annotations

from datetime import datetime

import commissions.gateways.stripe as stripe_gateway
from commissions.ingest.store import store_event
from commissions.models import SyncCursor

SYNC_OVERLAP_SECONDS = 300  # events of the last few minutes are re-read (duplicates ignored)


def sync_stripe(*, now: datetime) -> dict[str, int]:
    """Pull Stripe's events created at or after the stored cursor into the store (the
    webhook's safety net), then refunds newer than the cursor as `refund.synced` entries
    (localstripe sends no refund events; real Stripe's refund events dedupe on refund id
    in stage two). Returns how many rows were new."""
    cursor, _ = SyncCursor.objects.get_or_create(name="stripe_events")
    start = cursor.created_gte
    newest = start
    counts = {"events": 0, "refunds": 0}
    for event in stripe_gateway.iter_events(created_gte=start or None):
        # No raw_body: GET /v1/events answers with one unsigned page for many events, so
        # there are no bytes per event to keep and no signature to verify them against;
        # the dict the SDK parsed is all there is of it.
        _, created = store_event(provider="stripe", event=event, via="sync", now=now)
        counts["events"] += created
        newest = max(newest, int(event.get("created") or 0))
    for refund in stripe_gateway.iter_refunds():
        refund_created = int(refund.get("created") or 0)
        if start and refund_created < start:
            break  # newest first: the rest were seen by an earlier run
        synthetic = {
            "id": f"sync_{refund['id']}_{refund.get('status', '')}",
            "object": "event",
            "type": "refund.synced",
            "created": refund_created,
            "data": {"object": refund},
            "synthesized_by": "ambassador sync_stripe from GET /v1/refunds",
        }
        _, created = store_event(provider="stripe", event=synthetic, via="sync", now=now)
        counts["refunds"] += created
        newest = max(newest, refund_created)
    SyncCursor.objects.filter(pk=cursor.pk).update(
        created_gte=max(start, newest - SYNC_OVERLAP_SECONDS), updated_at=now
    )
    return counts
