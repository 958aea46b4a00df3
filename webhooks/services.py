"""Every write to webhooks: endpoints, the outbox, attempts, resends and disabling.

Flow: a domain service calls `emit` inside its own transaction, which writes one Delivery
per subscribed endpoint (the outbox row: committed with the change, or rolled back with
it) and, after commit, queues the first attempt. The request that caused the event never
waits for a receiver. A failed attempt schedules the next one (RETRY_DELAYS); the sweeper
(`send_due_deliveries`, beat every 15 s) sends what is due and picks up anything whose
queued task was lost. Every attempt is an Attempt row with its status code or error.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from standardwebhooks import Webhook

from config import queue
from config.errors import ServiceError
from config.mail import send_email_on_commit
from webhooks import transport
from webhooks.models import EVENT_TYPES, Attempt, Delivery, Endpoint

log = logging.getLogger(__name__)
State = Delivery.State

# After the first attempt, retries wait these delays: the first within a minute, then
# backing off for about three days in all (71.6 h); ten attempts per message.
RETRY_DELAYS = tuple(
    timedelta(seconds=s)
    for s in (30, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 20 * 3600)
)
# A receiver has this long to answer (connect, then each read); a hung one costs a worker
# 10 s, never the request that caused the event.
TIMEOUT_SECONDS = 10
# How long a claimed delivery is left to its sender before the sweeper claims it again
# (a worker that died mid-send): well over TIMEOUT_SECONDS and the queue's usual latency.
LEASE = timedelta(minutes=2)
# A bulk emit (the approval job's summaries) is not queued row by row from the committing
# code; the sweeper sends it within 15 s.
QUEUE_AT_MOST = 20
SWEEP_BATCH = 500


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]
    key: str | None = None  # natural key: one delivery per endpoint and key


# --- endpoints -----------------------------------------------------------------------------


def clean_events(events: Iterable[str] | None) -> list[str]:
    """The event types as given (duplicates dropped); ServiceError naming an unknown one."""
    out: list[str] = []
    for name in events or ():
        name = name.strip()
        if name not in EVENT_TYPES:
            message = f"Unknown event {name!r}; events are: {', '.join(EVENT_TYPES)}."
            raise ServiceError(message, code="unknown_event", fields={"events": [message]})
        if name not in out:
            out.append(name)
    return out


def clean_url(url: object) -> str:
    try:
        return transport.check_url(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except ValueError as exc:  # RefusedAddress is an OSError, hence also caught below
        raise ServiceError(str(exc), code="bad_url", fields={"url": [str(exc)]}) from None
    except transport.RefusedAddress as exc:
        raise ServiceError(str(exc), code="bad_url", fields={"url": [str(exc)]}) from None


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def create_endpoint(
    *, url: str, events: Iterable[str] | None, now: datetime, description: str = ""
) -> tuple[Endpoint, str]:
    """Register a receiver; returns it and its secret, which the caller shows once. Bad
    input is a ServiceError and nothing is written."""
    url = clean_url(url)
    chosen = clean_events(events)
    secret = new_secret()
    endpoint = Endpoint.objects.create(
        url=url, events=chosen, secret=secret, description=description[:200], created_at=now
    )
    return endpoint, secret


# --- the outbox ------------------------------------------------------------------------------


def _body(event: Event, now: datetime) -> str:
    # Standard Webhooks' payload shape; compact and key-sorted, so a body is stable bytes.
    payload = {"type": event.type, "timestamp": now.isoformat(), "data": event.data}
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str)


def subscribed(event_type: str) -> bool:
    """Whether any enabled endpoint wants `event_type` (emitters skip building a payload
    nobody will get)."""
    return any(e.wants(event_type) for e in Endpoint.objects.filter(enabled=True).only("events"))


def emit(*, type: str, data: dict[str, Any], now: datetime, key: str | None = None) -> int:
    return emit_many(events=[Event(type, data, key)], now=now)


def emit_many(*, events: Sequence[Event], now: datetime) -> int:
    """Write the deliveries of `events` for every enabled endpoint that wants them, in the
    caller's transaction, and queue their first attempt after it commits. An event whose
    key an endpoint already has is not written again. Returns the deliveries written."""
    endpoints = list(Endpoint.objects.filter(enabled=True).only("pk", "events"))
    if not endpoints or not events:
        return 0
    for event in events:
        if event.type not in EVENT_TYPES:
            raise ValueError(f"Unknown webhook event {event.type!r}")
    try:
        with transaction.atomic():
            rows = _new_rows(endpoints, events, now)
    except IntegrityError:
        # The same key written meanwhile by another transaction: read again and skip it.
        with transaction.atomic():
            rows = _new_rows(endpoints, events, now)
    if rows and len(rows) <= QUEUE_AT_MOST:
        for row in rows:
            if row.token:  # claimed for its task (_new_rows); the sweeper takes the rest
                queue.enqueue_on_commit(
                    "webhooks.send_delivery", delivery_id=row.pk, token=row.token
                )
    return len(rows)


def _new_rows(endpoints: list[Endpoint], events: Sequence[Event], now: datetime) -> list[Delivery]:
    keys = [e.key for e in events if e.key]
    have = set(
        Delivery.objects.filter(event_key__in=keys).values_list("endpoint_id", "event_key")
        if keys
        else ()
    )
    queued = len(events) * len(endpoints) <= QUEUE_AT_MOST
    rows = []
    for event in events:
        webhook_id, body = f"msg_{uuid.uuid4().hex}", _body(event, now)
        for endpoint in endpoints:
            if not endpoint.wants(event.type) or (endpoint.pk, event.key) in have:
                continue
            rows.append(
                Delivery(
                    endpoint=endpoint,
                    webhook_id=webhook_id,
                    event_type=event.type,
                    event_key=event.key,
                    body=body,
                    next_attempt_at=now,
                    # Queued rows are claimed for their task; the sweeper takes the rest.
                    token=uuid.uuid4().hex if queued else "",
                    lease_until=now + LEASE if queued else None,
                    created_at=now,
                )
            )
    return Delivery.objects.bulk_create(rows, batch_size=1000)


# --- sending ---------------------------------------------------------------------------------


def _claim(delivery_id: int, *, now: datetime) -> str | None:
    """Claim a due, unleased, pending delivery for a new sender; its token, or None."""
    token = uuid.uuid4().hex
    claimed = (
        Delivery.objects.filter(pk=delivery_id, state=State.PENDING, endpoint__enabled=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(Q(attempts=0) | Q(next_attempt_at__lte=now))
        .update(token=token, lease_until=now + LEASE)
    )
    return token if claimed else None


def send_due_deliveries(*, now: datetime, limit: int = SWEEP_BATCH) -> int:
    """The sweeper: claim every pending delivery that is due (and not being sent) and queue
    its attempt. Safe to run twice at once: a delivery is claimed by one run only."""
    due = (
        Delivery.objects.filter(state=State.PENDING, next_attempt_at__lte=now)
        .filter(endpoint__enabled=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for delivery_id in list(due):
        token = _claim(delivery_id, now=now)
        if token is not None:
            queue.send_now("webhooks.send_delivery", delivery_id=delivery_id, token=token)
            sent += 1
    return sent


def headers_for(delivery: Delivery, *, secret: str, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers: the message's fixed id, this attempt's timestamp and
    a signature over both and the body, made by the official library."""
    return {
        "content-type": "application/json",
        "user-agent": "Ambassador-Webhooks/1",
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(delivery.webhook_id, now, delivery.body),
    }


def attempt_delivery(*, delivery_id: int, token: str, now: datetime) -> str:
    """One attempt at one delivery, if `token` still holds its claim. Compare-and-set at
    every step: a delivery already sent, claimed by another sender or not pending is left
    alone, so a task that runs twice sends once. Returns what happened, in a word."""
    if not token:  # an unclaimed row's token is empty: that is no claim
        return "skipped"
    taken = Delivery.objects.filter(pk=delivery_id, state=State.PENDING, token=token).update(
        token="", lease_until=now + LEASE
    )
    if not taken:
        return "skipped"
    delivery = Delivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    started = time.monotonic()
    status, error = None, ""
    try:
        status = transport.post(
            endpoint.url,
            body=delivery.body.encode(),
            headers=headers_for(delivery, secret=endpoint.secret, now=now),
            timeout=TIMEOUT_SECONDS,
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE,
        )
    except transport.SEND_ERRORS as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    duration_ms = int((time.monotonic() - started) * 1000)
    ok = status is not None and 200 <= status < 300
    result = str(status) if status is not None else error[:100]
    with transaction.atomic():
        Attempt.objects.create(
            delivery=delivery,
            at=now,
            status_code=status,
            error=error,
            duration_ms=duration_ms,
            ok=ok,
        )
        done = delivery.attempts + 1
        common: dict[str, Any] = {"attempts": done, "lease_until": None, "last_attempt_at": now}
        common["last_result"] = result
        if delivery.first_attempt_at is None:
            common["first_attempt_at"] = now
        pending = Delivery.objects.filter(pk=delivery_id, state=State.PENDING)
        ep = Endpoint.objects.filter(pk=endpoint.pk)
        ep.update(last_attempt_at=now, last_result=result)
        if ok:
            pending.update(state=State.SUCCEEDED, succeeded_at=now, **common)
            ep.update(failure_count=0, failing_since=None)
            return "succeeded"
        ep.update(failure_count=F("failure_count") + 1)
        ep.filter(failing_since__isnull=True).update(failing_since=now)
        if done <= len(RETRY_DELAYS):
            pending.update(next_attempt_at=now + RETRY_DELAYS[done - 1], **common)
            return "retry"
        pending.update(state=State.FAILED, failed_at=now, **common)
        _disable_if_failing(
            endpoint_id=endpoint.pk, since=delivery.first_attempt_at or now, now=now
        )
        return "failed"


def _disable_if_failing(*, endpoint_id: int, since: datetime, now: datetime) -> bool:
    """A message exhausted its retries (~3 days). If nothing reached the endpoint since
    before that message's first attempt, the receiver has been down all that time: disable
    it (compare-and-set, so managers are told once) and e-mail the managers."""
    reason = f"every attempt failed since {since:%Y-%m-%d %H:%M} UTC"
    disabled = Endpoint.objects.filter(
        pk=endpoint_id, enabled=True, failing_since__lte=since
    ).update(enabled=False, disabled_at=now, disabled_reason=reason)
    if disabled:
        endpoint = Endpoint.objects.get(pk=endpoint_id)
        _tell_managers(endpoint)
    return bool(disabled)


def manager_emails() -> list[str]:
    """Who manages webhooks: active superusers and users who may change endpoints (the
    Program manager group, by affiliates.roles). By permission, not by group name, since
    this bottom app imports no domain app."""
    perm = {"codename": "change_endpoint", "content_type__app_label": "webhooks"}
    may = (
        Q(is_superuser=True)
        | Q(**{f"groups__permissions__{k}": v for k, v in perm.items()})
        | Q(**{f"user_permissions__{k}": v for k, v in perm.items()})
    )
    users = get_user_model().objects.filter(is_active=True).filter(may)
    return sorted({e for e in users.values_list("email", flat=True) if e})


def _tell_managers(endpoint: Endpoint) -> None:
    subject = f"Webhook endpoint disabled: {endpoint.url}"
    body = (
        f"The webhook endpoint {endpoint.url} was disabled: {endpoint.disabled_reason}.\n"
        f"Last result: {endpoint.last_result}.\n\n"
        "Fix the receiver, then enable the endpoint again in admin (Webhooks › Endpoints) and "
        "resend the failed deliveries from the Deliveries list."
    )
    for address in manager_emails():  # one message each: staff addresses stay private
        send_email_on_commit(to=[address], subject=subject, body=body)


def resend_deliveries(*, delivery_ids: Iterable[int], now: datetime) -> int:
    """Send again, now, with the same webhook-id and body, and a fresh retry schedule
    (admin action). Deliveries of a disabled endpoint are left alone; returns how many."""
    count = 0
    with transaction.atomic():
        for delivery_id in delivery_ids:
            token = uuid.uuid4().hex
            moved = Delivery.objects.filter(pk=delivery_id, endpoint__enabled=True).update(
                state=State.PENDING,
                attempts=0,
                next_attempt_at=now,
                token=token,
                lease_until=now + LEASE,
                succeeded_at=None,
                failed_at=None,
            )
            if moved:
                queue.enqueue_on_commit(
                    "webhooks.send_delivery", delivery_id=delivery_id, token=token
                )
                count += 1
    return count


def enable_endpoint(*, endpoint: Endpoint) -> bool:
    """Turn a disabled endpoint back on, its failure record cleared."""
    return bool(
        Endpoint.objects.filter(pk=endpoint.pk, enabled=False).update(
            enabled=True, failure_count=0, failing_since=None, disabled_at=None, disabled_reason=""
        )
    )
