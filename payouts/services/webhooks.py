"""Provider webhooks for payouts: PayPal events and Stripe Connect events."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import transaction

from config import queue
from config.errors import ServiceError
from payouts import providers
from payouts.models import PayoutAccount, PayPalBatch, PayPalEvent
from payouts.services.paypal import apply_paypal_item, refresh_paypal_batch
from payouts.services.stripe_connect import record_transfer_reversed


def store_connect_event(*, payload: bytes, signature: str | None, now: datetime) -> bool:
    """Stage one for the Connect endpoint: verify with the Connect secret, then store the
    raw event in the same store as the platform's Stripe events (Stripe event ids are
    unique, so one stored row per event whichever endpoint it came by). Stage two runs the
    handlers registered per type: `account.updated` → handle_stripe_event. Returns whether
    the event was new.

    Decision: transfers and their reversals are the platform's objects, so Stripe sends
    `transfer.reversed` to the platform endpoint (/webhooks/stripe/), where it is already
    handled; should one arrive here it is stored and handled the same way."""
    from commissions.events import store_event
    from payouts.stripe_connect import construct_connect_event

    if not providers.stripe_connect_webhooks_enabled():
        raise providers.ProviderNotConfigured("STRIPE_CONNECT_WEBHOOK_SECRET is not set.")
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
        _, created = store_event(provider="stripe", event=event, via="webhook", now=now)
    return created


def store_paypal_event(
    *, headers: dict[str, str], body: bytes, now: datetime
) -> PayPalEvent | None:
    """Verify with PayPal, store the event once (replays harmless) with its raw bytes and
    transmission headers, process after commit."""
    if not providers.get_paypal().verify_webhook(headers=headers, body=body):
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
    *, event_pk: int, now: datetime, client: providers.PayPalPayouts | None = None
) -> str:
    """Events arrive unordered and repeated, so the item (or batch) is re-read from PayPal
    and its current state applied, rather than trusting the event's payload."""
    event = PayPalEvent.objects.get(pk=event_pk)
    resource = event.body.get("resource") or {}
    client = client or providers.get_paypal()
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
    """Stage-two handler registered with commissions.events for Connect's `account.updated`
    and `transfer.reversed` (stored by the commissions app's /webhooks/stripe/). Stage two
    reads only the stored event; events are unordered, so an `account.updated` older than
    the state we hold is ignored."""
    from django.utils import timezone

    payload = event.payload
    obj = (payload.get("data") or {}).get("object") or {}
    now = getattr(event, "processed_now", None) or timezone.now()
    if event.type == "account.updated":
        with transaction.atomic():
            account = (
                PayoutAccount.objects.select_for_update()
                .filter(stripe_account_id=obj.get("id", ""))
                .first()
            )
            if account is None:
                return
            if account.stripe_checked_at and event.created < account.stripe_checked_at:
                return
            account.stripe_payouts_enabled = bool(obj.get("payouts_enabled"))
            account.stripe_checked_at = event.created
            account.updated_at = now
            account.save(
                update_fields=["stripe_payouts_enabled", "stripe_checked_at", "updated_at"]
            )
    elif event.type == "transfer.reversed":
        record_transfer_reversed(transfer=obj, now=now)
