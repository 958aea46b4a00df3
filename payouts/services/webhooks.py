"""Provider webhooks for payouts, the adapters' second half: a verified PayPal event is
stored once (with its raw bytes) and processed in a task; a Connect event is stored in the
commissions app's event store, whose stage two calls handle_stripe_event."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from commissions.ingest import store_event
from config import queue
from config.errors import ServiceError
from payouts.gateways import base, registry
from payouts.gateways.stripe_connect import construct_connect_event
from payouts.models import PayPalBatch, PayPalEvent
from payouts.services.onboarding import record_account_updated
from payouts.services.paypal import apply_paypal_item, refresh_paypal_batch
from payouts.services.stripe_connect import record_transfer_reversed


def store_connect_event(*, payload: bytes, signature: str | None, now: datetime) -> bool:
    """Stage one for the Connect endpoint: verify with the Connect secret, then store the
    raw event in the same store as the platform's Stripe events (Stripe event ids are
    unique, so one stored row per event whichever endpoint it came by). Stage two runs the
    handler settings.STRIPE_EVENT_HANDLERS names for its type: `account.updated` →
    handle_stripe_event. Returns whether the event was new.

    Decision: transfers and their reversals are the platform's objects, so Stripe sends
    `transfer.reversed` to the platform endpoint (/webhooks/stripe/), where it is already
    handled; should one arrive here it is stored and handled the same way."""
    if not registry.stripe_connect_webhooks_enabled():
        raise base.ProviderNotConfigured("STRIPE_CONNECT_WEBHOOK_SECRET is not set.")
    event = construct_connect_event(payload=payload, signature=signature)
    if not (isinstance(event.get("id"), str) and 0 < len(event["id"]) <= 255):
        raise ServiceError("Not a Stripe event (no id).", code="invalid")
    created_at = event.get("created", 0)
    # `created` (unix seconds) becomes a datetime: a bool, float or far-future value must be
    # a 400 here, not an overflow later.
    if (
        not isinstance(event.get("type"), str)
        or type(created_at) is not int
        or not 0 <= created_at < 2**33
    ):
        raise ServiceError("Not a Stripe event (type, created).", code="invalid")
    with transaction.atomic():
        _, created = store_event(
            provider="stripe",
            event=event,
            via="webhook",
            now=now,
            raw_body=payload,
            signature=signature or "",
        )
    return created


def store_paypal_event(
    *, headers: dict[str, str], body: bytes, now: datetime
) -> PayPalEvent | None:
    """Verify with PayPal, store the event once (replays harmless) with its raw bytes and
    transmission headers, process after commit."""
    if not registry.get_paypal().verify_webhook(headers=headers, body=body):
        raise ServiceError("PayPal webhook signature did not verify.", code="bad_signature")
    event = json.loads(body)
    event_id = str(event.get("id") or "")
    if not event_id:
        raise ServiceError("PayPal event without an id.")
    stored, created = PayPalEvent.objects.get_or_create(
        event_id=event_id,
        defaults={
            "event_type": event.get("event_type", ""),
            "body": event,
            "raw_body": bytes(body),
            "headers": headers,
            "received_at": now,
        },
    )
    if created:
        queue.enqueue_on_commit("payouts.process_paypal_event", event_id=stored.pk)
    return stored


def process_paypal_event(
    *, event_pk: int, now: datetime, client: base.PayPalPayouts | None = None
) -> str:
    """Events arrive unordered and repeated, so the item (or batch) is re-read from PayPal
    and its current state applied, rather than trusting the event's payload."""
    event = PayPalEvent.objects.get(pk=event_pk)
    resource = event.body.get("resource") or {}
    client = client or registry.get_paypal()
    source = f"paypal webhook {event.event_id}"  # the payouts' history names the event
    outcome = "ignored"
    if event.event_type.startswith("PAYMENT.PAYOUTS-ITEM."):
        item_id = resource.get("payout_item_id")
        if item_id:
            outcome = apply_paypal_item(
                item=client.get_item(item_id=item_id), now=now, source=source
            )
    elif event.event_type.startswith("PAYMENT.PAYOUTSBATCH."):
        provider_batch_id = (resource.get("batch_header") or {}).get("payout_batch_id", "")
        batch = PayPalBatch.objects.filter(provider_batch_id=provider_batch_id).first()
        if batch is not None:
            outcome = refresh_paypal_batch(batch_id=batch.pk, now=now, client=client, source=source)
    PayPalEvent.objects.filter(pk=event_pk).update(processed_at=now)
    return outcome


def handle_stripe_event(event: Any) -> None:
    """Stage-two handler for Connect's `account.updated` and `transfer.reversed`, named in
    settings.STRIPE_EVENT_HANDLERS and called by the commissions app's event store with the
    stored event (whichever endpoint it came by). Stage two reads only the stored event.
    Called with the event alone, it takes the store's clock (`processed_now`) when given."""
    obj = (event.payload.get("data") or {}).get("object") or {}
    now = getattr(event, "processed_now", None) or timezone.now()
    if event.type == "account.updated":
        record_account_updated(account=obj, as_of=event.created, now=now)
    elif event.type == "transfer.reversed":
        record_transfer_reversed(transfer=obj, now=now)
