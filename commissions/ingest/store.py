"""Stage one: store a provider event once, as received, and queue stage two for it.

Stage one does no processing beyond learning customer links (see _learn_customer_link), so
a webhook answers fast and a bug in stage two loses nothing: the stored rows are re-run.
Stage two is queued by task name on commit (config.queue); a lost enqueue — a broker outage,
a crash right after commit — is caught by the every-minute sweeper
(`commissions.process_pending_events`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction

from commissions import services
from commissions.ingest.errors import MalformedEvent
from commissions.ingest.payload import as_dict, loose_object, stripe_id, without_nul
from commissions.models import StoredEvent
from config.queue import enqueue_on_commit

logger = logging.getLogger(__name__)


def store_event(
    *,
    provider: str,
    event: dict[str, Any],
    via: str,
    now: datetime,
    raw_body: bytes | None = None,
    signature: str = "",
) -> tuple[StoredEvent, bool]:
    """Store a raw event once per (provider, event id); returns (row, created). Stage two
    is enqueued on commit when the row is new (the sweeper catches a lost enqueue).

    `event` is the parsed body; a signed webhook delivery also passes `raw_body` (the
    request's bytes, untouched) and its `signature` header, kept so the stored event can be
    verified again. A duplicate delivery keeps the first row as it was."""
    # PostgreSQL's jsonb cannot hold U+0000 (it refuses the whole row): a NUL inside a
    # string (a customer's metadata, say) is stored as U+FFFD rather than losing the event.
    event = without_nul(event)
    event_id = str(event["id"])
    try:
        created = datetime.fromtimestamp(int(event.get("created") or now.timestamp()), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        created = now  # stored anyway; stage two reports what is wrong with it
    try:
        with transaction.atomic():
            row = StoredEvent.objects.create(
                provider=provider,
                event_id=event_id,
                type=str(event.get("type", ""))[:100],
                via=via,
                created=created,
                payload=event,
                raw_body=raw_body,
                signature=signature,
                received_at=now,
            )
    except IntegrityError:
        return StoredEvent.objects.get(provider=provider, event_id=event_id), False
    _learn_customer_link(row)
    enqueue_stage_two(row.pk)
    return row, True


def enqueue_stage_two(event_pk: int) -> None:
    """Process the stored event in a task once the current transaction commits."""
    enqueue_on_commit("commissions.process_event", event_pk=event_pk)


def _learn_customer_link(row: StoredEvent) -> None:
    """Customer links are learnt already at store time: deliveries are unordered, and an
    invoice processed before its `customer.created` must still find its referral."""
    if row.type in ("customer.created", "customer.updated", "checkout.session.completed"):
        obj = loose_object(row)
        try:
            if row.type.startswith("customer."):
                ours = stripe_id(as_dict(obj.get("metadata")).get("ambassador_customer_id"))
                customer, how = stripe_id(obj.get("id")), "customer metadata"
            else:
                ours = stripe_id(obj.get("client_reference_id"))
                customer, how = stripe_id(obj.get("customer")), "checkout client_reference_id"
            if ours and customer:
                services.link_stripe_customer(
                    stripe_customer_id=customer, customer_id=str(ours), how=how
                )
        except (TypeError, AttributeError, ValueError, MalformedEvent):  # stage two reports it
            logger.warning("Could not read customer link from %s", row.event_id)
