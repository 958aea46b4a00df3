"""Stage two: turn stored events into payments, refunds, disputes and entries — one event
(process_event), the due ones in batches (process_pending_events, what the sweeper and
`manage.py process_events` run), a person's retry, and a reprocess over the store.

One bad event never stops the others. Payloads are parsed defensively (a `data.object`
that is not an object is a MalformedEvent), each event runs in its own savepoint, and
whatever a handler raises is recorded on the event (error, attempts). A failed event is
retried with exponential backoff (RETRY_BASE × 2^(attempts−1), stored as
`next_attempt_at`) and parked after MAX_ATTEMPTS failures: kept, shown in admin with its
error, retried only when a person asks (admin action, or `--reprocess`). Every failure is
retried the same way, validation errors included: we cannot tell a malformed payload from
a parser bug that a deploy fixes, and five tries are cheap. Should a batch fail outside
the events' savepoints (a database error that aborts its transaction), the batch is run
again one event per transaction, so the bad one is found and marked and the rest go on.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q

from commissions import rules
from commissions.ingest.customers import (
    CUSTOMER_SCOPED,
    customer_link_in,
    referral_for_stripe_customer,
)
from commissions.ingest.errors import Skip
from commissions.ingest.handlers import handlers_for
from commissions.ingest.payload import data_object, discount_refs, loose_object, stripe_id
from commissions.ingest.prefetch import prefetch_payments, prefetch_referrals
from commissions.ingest.store import enqueue_stage_two
from commissions.ingest.stripe_handlers import handle_customer
from commissions.models import StoredEvent
from config.errors import ServiceError

logger = logging.getLogger(__name__)

# Failed events: retried after RETRY_BASE, 2×, 4×, 8× it (2, 4, 8, 16 minutes: past a
# deploy or a database hiccup), then parked on the MAX_ATTEMPTS-th failure.
MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(minutes=2)

# Common skip reasons, batched into one UPDATE each.
_SKIP_REASONS = {"customer not referred", "nothing paid", "no ambassador_customer_id"}


def process_event(
    *, event: StoredEvent, now: datetime, cache: dict | None = None, reprocess: bool = False
) -> str:
    """Run the event's handlers in one transaction and mark it processed. Returns the
    outcome: processed, skipped, unhandled, error (retried later) or parked."""
    outcome, error = _run_handlers(event=event, now=now, cache=cache, reprocess=reprocess)
    if outcome == "error":
        return _mark_failed(event=event, error=error, now=now)
    _mark(pks=[event.pk], outcome=outcome, error=error, now=now)
    return outcome


def _run_handlers(
    *, event: StoredEvent, now: datetime, cache: dict | None, reprocess: bool
) -> tuple[str, str]:
    """(outcome, error); never raises. What failed is kept on `event.failure`."""
    event.failure = None  # type: ignore[attr-defined]
    try:
        return _run_handlers_unguarded(event=event, now=now, cache=cache, reprocess=reprocess)
    except Exception as exc:
        # Outside the handlers' savepoint: the shape checks before it, on a payload that is
        # not what its type promises.
        event.failure = exc  # type: ignore[attr-defined]
        rules.drop_payment_memo(cache)
        if isinstance(exc, ServiceError):
            return "error", exc.message
        logger.warning("Stage two could not read event %s", event.event_id, exc_info=True)
        return "error", repr(exc)


def _run_handlers_unguarded(
    *, event: StoredEvent, now: datetime, cache: dict | None, reprocess: bool
) -> tuple[str, str]:
    handlers = handlers_for(event.type)
    if not handlers:
        return "unhandled", ""
    if event.provider == StoredEvent.Provider.STRIPE and event.type in CUSTOMER_SCOPED:
        obj = data_object(event)
        if (
            referral_for_stripe_customer(stripe_id(obj.get("customer")), obj.get("metadata"), cache)
            is None
            # An invoice with a discount may still be attributed by an affiliate's coupon.
            and not (event.type.startswith("invoice.") and any(discount_refs(obj)))
        ):
            return "skipped", "customer not referred"
        if (
            not reprocess
            and cache is not None
            and event.type.startswith("invoice.")
            and ("invoice", obj.get("id")) in cache
        ):
            return "processed", ""  # the twin of an invoice handled in this run
    if handlers == [handle_customer] and not customer_link_in(event):
        # What handle_customer would raise, without opening a savepoint for it (one such
        # event per Stripe customer, most of them not ours).
        return "skipped", "no ambassador_customer_id"
    # Handlers receive only the event: the run's clock and per-run cache ride on it.
    event.processed_now = now  # type: ignore[attr-defined]
    event._cache = cache  # type: ignore[attr-defined]
    event.reprocess = reprocess  # type: ignore[attr-defined]
    memo = rules.payment_memo(cache)
    memo_version = memo.version if memo is not None else 0
    try:
        try:
            with transaction.atomic():
                for handler in handlers:
                    handler(event)
        except IntegrityError:
            # Lost a race on a unique key with a concurrent run (both twins of one invoice
            # at once): the savepoint undid this event; once more sees the winner's rows.
            rules.drop_payment_memo(cache)
            _forget_invoice(event, cache)
            memo = None
            with transaction.atomic():
                for handler in handlers:
                    handler(event)
    except Exception as exc:
        # The savepoint rolled back what the handlers wrote: forget what the run cache
        # learnt from those writes.
        if memo is not None and memo.version != memo_version:
            rules.drop_payment_memo(cache)
        _forget_invoice(event, cache)
        if isinstance(exc, Skip):
            return "skipped", str(exc)
        event.failure = exc  # type: ignore[attr-defined]
        if isinstance(exc, ServiceError):
            return "error", exc.message
        # A bug: keep the event unprocessed, retry after the fix.
        logger.exception("Stage two failed for event %s", event.event_id)
        return "error", repr(exc)
    return "processed", ""


def _forget_invoice(event: StoredEvent, cache: dict | None) -> None:
    """An invoice whose event was rolled back is not "handled in this run" (see the twin
    check above)."""
    if cache is not None and event.type.startswith("invoice."):
        cache.pop(("invoice", loose_object(event).get("id")), None)


def _clean(error: str) -> str:
    # Error text may quote the payload; PostgreSQL text cannot hold NUL.
    return error.replace("\x00", "\\x00")[:2000]


def _mark(*, pks: list[int], outcome: str, error: str, now: datetime) -> None:
    StoredEvent.objects.filter(pk__in=pks).update(
        processed_at=None if outcome == "error" else now,
        outcome=outcome,
        error=_clean(error),
        attempts=F("attempts") + 1,
        next_attempt_at=None,
        parked_at=None,
    )


def _mark_failed(
    *, event: StoredEvent | None = None, pk: int = 0, error: str, now: datetime
) -> str:
    """Record a failure: attempts + 1, then a retry after the backoff, or parked. Returns the
    outcome ("error" or "parked")."""
    if event is not None:
        pk, attempts = event.pk, event.attempts + 1
    else:  # the row could not be loaded: read only its counter
        attempts = 1 + (
            StoredEvent.objects.filter(pk=pk).values_list("attempts", flat=True).first() or 0
        )
    parked = attempts >= MAX_ATTEMPTS
    StoredEvent.objects.filter(pk=pk).update(
        processed_at=None,
        outcome="parked" if parked else "error",
        error=_clean(error),
        attempts=attempts,
        next_attempt_at=None if parked else now + RETRY_BASE * 2 ** (attempts - 1),
        parked_at=now if parked else None,
    )
    return "parked" if parked else "error"


def retry_events(*, event_ids: list[int], now: datetime) -> int:
    """A person's "retry": parked or failing events get a fresh set of attempts and are
    processed at once (on commit). Returns how many were queued."""
    with transaction.atomic():
        ids = list(
            StoredEvent.objects.filter(pk__in=event_ids, processed_at__isnull=True).values_list(
                "pk", flat=True
            )
        )
        StoredEvent.objects.filter(pk__in=ids).update(
            attempts=0, next_attempt_at=None, parked_at=None, outcome=""
        )
        for pk in ids:
            enqueue_stage_two(pk)
    return len(ids)


def process_pending_events(
    *,
    now: datetime,
    limit: int | None = None,
    batch_size: int = 500,
    reprocess: bool = False,
    failures: list[dict[str, Any]] | None = None,
) -> dict[str, int]:
    """Process stored, unprocessed events that are due (not parked, past their retry time)
    in created order (oldest first, so a customer's events keep their order). Concurrent
    runs share the work: on PostgreSQL each batch is claimed with SKIP LOCKED. Never raises
    for a bad event: failures are counted ("error" retried later, "parked"), and listed in
    `failures` when given (event id, type, error, attempts, outcome)."""
    counts: dict[str, int] = {}
    cache: dict = {}
    done = 0
    last = (datetime.min.replace(tzinfo=UTC), 0)
    while limit is None or done < limit:
        size = batch_size if limit is None else min(batch_size, limit - done)
        claimed: list[tuple[int, datetime]] = []
        try:
            with transaction.atomic():
                claimed = _claim(last=last, size=size, now=now)
                batch = list(
                    StoredEvent.objects.filter(pk__in=[pk for pk, _ in claimed]).order_by(
                        "created", "pk"
                    )
                )
                _run_batch(batch, now=now, cache=cache, reprocess=reprocess, counts=counts)
        except Exception:
            if not claimed:
                raise  # claiming itself failed: the database, not an event
            # Rolled back: a failure outside the events' savepoints (one event's bad data
            # broke the batch's transaction). Redo it one event per transaction.
            logger.exception("Stage two batch failed; processing it event by event")
            cache.clear()
            for pk, _ in claimed:
                _run_alone(pk, now=now, reprocess=reprocess, counts=counts)
        if not claimed:
            break
        done += len(claimed)
        last = (claimed[-1][1], claimed[-1][0])
        if failures is not None:
            failures.extend(
                dict(row)
                for row in StoredEvent.objects.filter(
                    pk__in=[pk for pk, _ in claimed], outcome__in=["error", "parked"]
                )
                .order_by("created", "pk")
                .values("event_id", "type", "error", "attempts", "outcome", "next_attempt_at")
            )
    return counts


def _claim(*, last: tuple[datetime, int], size: int, now: datetime) -> list[tuple[int, datetime]]:
    """(pk, created) of the next due events after `last`, locked for this run."""
    qs = (
        StoredEvent.objects.filter(processed_at__isnull=True, parked_at__isnull=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(created__gt=last[0]) | Q(created=last[0], pk__gt=last[1]))
        .order_by("created", "pk")
    )
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    # Claim (lock) and order the batch on its keys alone, then read the payloads: sorting
    # whole rows spills to disk when many events wait.
    return list(qs.values_list("pk", "created")[:size])


def _run_batch(
    batch: list[StoredEvent], *, now: datetime, cache: dict, reprocess: bool, counts: dict
) -> None:
    try:
        # Its own savepoint: a lookup that fails (bad ids in a payload) costs the
        # prefetch, not the batch; the events then read what they need one by one.
        with transaction.atomic():
            prefetch_referrals(batch, cache)
            prefetch_payments(batch, cache)
    except Exception:
        logger.warning("Stage two prefetch failed; reading per event", exc_info=True)
        for cached in [k for k in cache if isinstance(k, tuple) and k[0] == "referral"]:
            del cache[cached]
        rules.drop_payment_memo(cache)
    # Outcomes are written per batch, one UPDATE per outcome (errors one by one).
    done_by_outcome: dict[str, list[int]] = {}
    for event in batch:
        outcome, error = _run_handlers(event=event, now=now, cache=cache, reprocess=reprocess)
        if outcome == "error":
            outcome = _mark_failed(event=event, error=error, now=now)
        elif outcome == "skipped" and error not in _SKIP_REASONS:
            _mark(pks=[event.pk], outcome=outcome, error=error, now=now)
        else:
            done_by_outcome.setdefault(f"{outcome}\0{error}", []).append(event.pk)
        counts[outcome] = counts.get(outcome, 0) + 1
    for key, pks in done_by_outcome.items():
        outcome, error = key.split("\0")
        _mark(pks=pks, outcome=outcome, error=error, now=now)


def _run_alone(pk: int, *, now: datetime, reprocess: bool, counts: dict) -> None:
    """One event in its own transaction; if even that fails, the failure is recorded in
    another (so its attempts rise and it is parked in the end)."""
    try:
        with transaction.atomic():
            event = (
                StoredEvent.objects.select_for_update()
                .filter(pk=pk, processed_at__isnull=True, parked_at__isnull=True)
                .first()
            )
            if event is None:
                return
            outcome = process_event(event=event, now=now, reprocess=reprocess)
    except Exception as exc:
        logger.exception("Stage two failed for stored event %s", pk)
        with transaction.atomic():
            outcome = _mark_failed(pk=pk, error=repr(exc), now=now)
    counts[outcome] = counts.get(outcome, 0) + 1


def reprocess_events(
    *, since: datetime | None, now: datetime, failures: list[dict[str, Any]] | None = None
) -> dict[str, int]:
    """Mark stored events (created at or after `since`) unprocessed and run stage two again
    over them, from the store only."""
    qs = StoredEvent.objects.all()
    if since is not None:
        qs = qs.filter(created__gte=since)
    qs.update(
        processed_at=None, attempts=0, outcome="", error="", next_attempt_at=None, parked_at=None
    )
    return process_pending_events(now=now, reprocess=True, failures=failures)
