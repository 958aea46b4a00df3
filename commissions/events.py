"""Provider events: stage one stores them verbatim, stage two turns stored events into
payments, refunds, disputes and entries.

Stage two reads only the store (never the provider), so a bug there is fixed by fixing the
code and re-running it (`manage.py process_events --reprocess`). Reprocessing keeps the
ledger append-only: existing payments and entries are left as they are (unique constraints
on the external ids and on (source, kind, affiliate)), and only rows that are missing —
e.g. because a rule was wrong or a plan bonus was configured late — are inserted.

Other apps add handlers with `register_handler(event_type, handler)` from their
AppConfig.ready (payouts handles Connect's `account.updated` and `transfer.reversed`).

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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.db.models.functions import TruncMonth

from commissions import rules, selectors, services
from commissions.models import Dispute, Payment, StoredEvent, StripeCustomerLink
from config.errors import ServiceError
from tracking.models import Referral

logger = logging.getLogger(__name__)

Handler = Callable[[StoredEvent], None]
_handlers: dict[str, list[Handler]] = {}


class Skip(Exception):
    """The event is not ours to act on (an unreferred customer, a zero invoice…)."""


class MalformedEvent(ServiceError):
    """The stored payload does not have the shape its type promises."""


# Failed events: retried after RETRY_BASE, 2×, 4×, 8× it (2, 4, 8, 16 minutes: past a
# deploy or a database hiccup), then parked on the MAX_ATTEMPTS-th failure.
MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(minutes=2)


# Common skip reasons, batched into one UPDATE each.
_SKIP_REASONS = {"customer not referred", "nothing paid", "no ambassador_customer_id"}


def register_handler(event_type: str, handler: Handler) -> None:
    """Add a stage-two handler for `event_type` (several per type run in order)."""
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def handlers_for(event_type: str) -> list[Handler]:
    return list(_handlers.get(event_type, []))


# --- stage one ---------------------------------------------------------------------------


def store_event(
    *, provider: str, event: dict[str, Any], via: str, now: datetime
) -> tuple[StoredEvent, bool]:
    """Store a raw event once per (provider, event id); returns (row, created). Stage two
    is enqueued on commit when the row is new (the sweeper catches a lost enqueue)."""
    # PostgreSQL's jsonb cannot hold U+0000 (it refuses the whole row): a NUL inside a
    # string (a customer's metadata, say) is stored as U+FFFD rather than losing the event.
    event = _without_nul(event)
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
                received_at=now,
            )
    except IntegrityError:
        return StoredEvent.objects.get(provider=provider, event_id=event_id), False
    _learn_customer_link(row)
    transaction.on_commit(lambda: _enqueue(row.pk))
    return row, True


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def _learn_customer_link(row: StoredEvent) -> None:
    """Customer links are learnt already at store time: deliveries are unordered, and an
    invoice processed before its `customer.created` must still find its referral."""
    if row.type in ("customer.created", "customer.updated", "checkout.session.completed"):
        obj = _loose_obj(row)
        try:
            if row.type.startswith("customer."):
                ours = _id(_dict(obj.get("metadata")).get("ambassador_customer_id"))
                stripe_id, how = _id(obj.get("id")), "customer metadata"
            else:
                ours = _id(obj.get("client_reference_id"))
                stripe_id, how = _id(obj.get("customer")), "checkout client_reference_id"
            if ours and stripe_id:
                services.link_stripe_customer(
                    stripe_customer_id=stripe_id, customer_id=str(ours), how=how
                )
        except (TypeError, AttributeError, ValueError, MalformedEvent):  # stage two reports it
            logger.warning("Could not read customer link from %s", row.event_id)


def _enqueue(event_pk: int) -> None:
    from commissions.tasks import process_event_task

    try:
        process_event_task.delay(event_pk)
    except Exception:  # broker down: the every-minute sweeper processes it instead
        logger.warning("Could not enqueue stage two for event %s", event_pk, exc_info=True)


# --- stage two ---------------------------------------------------------------------------


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


# Built-in event types that concern one Stripe customer: when nobody referred that customer
# they are skipped before any transaction is opened (most of a Stripe account's events).
_CUSTOMER_SCOPED = {
    "invoice.paid",
    "invoice.payment_succeeded",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
}


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
    if event.provider == StoredEvent.Provider.STRIPE and event.type in _CUSTOMER_SCOPED:
        obj = _obj(event)
        if (
            referral_for_stripe_customer(_id(obj.get("customer")), obj.get("metadata"), cache)
            is None
        ):
            return "skipped", "customer not referred"
        if (
            not reprocess
            and cache is not None
            and event.type.startswith("invoice.")
            and ("invoice", obj.get("id")) in cache
        ):
            return "processed", ""  # the twin of an invoice handled in this run
    if handlers == [handle_customer] and not _customer_link_in(event):
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
        cache.pop(("invoice", _loose_obj(event).get("id")), None)


def _clean(error: str) -> str:
    # Error text may quote the payload; PostgreSQL text cannot hold NUL.
    return error.replace("\x00", "\\x00")[:2000]


def _mark(*, pks: list[int], outcome: str, error: str, now: datetime) -> None:
    from django.db.models import F

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
            transaction.on_commit(lambda pk=pk: _enqueue(pk))
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
                StoredEvent.objects.filter(
                    pk__in=[pk for pk, _ in claimed], outcome__in=["error", "parked"]
                )
                .order_by("created", "pk")
                .values("event_id", "type", "error", "attempts", "outcome", "next_attempt_at")
            )
    return counts


def _claim(*, last: tuple[datetime, int], size: int, now: datetime) -> list[tuple[int, datetime]]:
    """(pk, created) of the next due events after `last`, locked for this run."""
    from django.db import connection

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
            _prefetch_referrals(batch, cache)
            _prefetch_payments(batch, cache)
    except Exception:
        logger.warning("Stage two prefetch failed; reading per event", exc_info=True)
        for key in [k for k in cache if isinstance(k, tuple) and k[0] == "referral"]:
            del cache[key]
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


def _prefetch_referrals(batch: list[StoredEvent], cache: dict) -> None:
    """Resolve the batch's Stripe customers in two queries instead of one per customer."""
    wanted = set()
    for event in batch:
        if event.provider == StoredEvent.Provider.STRIPE and event.type in _CUSTOMER_SCOPED:
            customer = _id(_loose_obj(event).get("customer"))
            if customer and ("referral", customer) not in cache:
                wanted.add(customer)
    if not wanted:
        return
    found = {
        r.stripe_customer_id: r
        for r in Referral.objects.select_related("affiliate", "employee").filter(
            stripe_customer_id__in=wanted
        )
    }
    links = dict(
        StripeCustomerLink.objects.filter(stripe_customer_id__in=wanted - set(found)).values_list(
            "stripe_customer_id", "customer_id"
        )
    )
    by_customer_id = {
        r.customer_id: r
        for r in Referral.objects.select_related("affiliate", "employee").filter(
            customer_id__in=set(links.values())
        )
    }
    # Customers whose events name an ambassador_customer_id in their metadata.
    with_metadata = {
        _id(_loose_obj(event).get("customer"))
        for event in batch
        if event.provider == StoredEvent.Provider.STRIPE
        and event.type in _CUSTOMER_SCOPED
        and _dict(_loose_obj(event).get("metadata")).get("ambassador_customer_id")
    }
    for customer in wanted:
        referral = found.get(customer) or by_customer_id.get(links.get(customer, ""))
        if referral is None:
            if customer in with_metadata:
                continue  # unknown here: metadata on the object may still name it
            # Nobody referred them (no referral, no link, no metadata): what
            # referral_for_stripe_customer would find and keep, without its two queries.
            cache[("referral", customer)] = None
            continue
        if referral.affiliate_id is None and referral.employee_id is None:
            referral = None
        cache[("referral", customer)] = referral


def _prefetch_payments(batch: list[StoredEvent], cache: dict) -> None:
    """Start the batch's payment memo (rules.PaymentMemo) with what its referred invoices
    will ask: whether each invoice is stored already, the customers' payments, and the
    earners' previous-month sales — three queries for the batch instead of four per
    payment. Whatever is missed here is read on demand."""
    memo = rules.start_payment_memo(cache)
    invoices: list[tuple[dict, Referral, datetime]] = []
    for event in batch:
        if event.provider == StoredEvent.Provider.STRIPE and event.type.startswith("invoice."):
            obj = _loose_obj(event)
            referral = cache.get(("referral", _id(obj.get("customer"))))
            if referral is not None and _id(obj.get("id")):
                try:
                    paid_at = _ts(
                        _dict(obj.get("status_transitions")).get("paid_at"), event.created
                    )
                except (TypeError, ValueError, OverflowError, OSError):
                    continue  # its handler reports it
                invoices.append((obj, referral, paid_at))
    if not invoices:
        return
    external_ids = {str(obj["id"]) for obj, _, _ in invoices}
    stored = {
        p.external_id: p
        for p in Payment.objects.filter(
            provider=StoredEvent.Provider.STRIPE, external_id__in=external_ids
        )
    }
    for external_id in external_ids:
        memo.existing[(StoredEvent.Provider.STRIPE, external_id)] = stored.get(external_id)
    referral_ids = {referral.pk for _, referral, _ in invoices}
    for referral_id in referral_ids:
        memo.by_referral[referral_id] = []
    for row in Payment.objects.filter(referral_id__in=referral_ids).values_list(
        "referral_id", "pk", "paid_at", "external_id", "product_plan"
    ):
        memo.by_referral[row[0]].append(rules.KnownPayment(*row[1:]))
    wanted = {
        (affiliate_id, rules.previous_month(paid_at)[0])
        for _, referral, paid_at in invoices
        for affiliate_id in (referral.affiliate_id, referral.employee_id)
        if affiliate_id is not None
    }
    affiliate_ids = {affiliate_id for affiliate_id, _ in wanted}
    months = {month for _, month in wanted}
    rows = (
        Payment.objects.filter(
            Q(referral__affiliate_id__in=affiliate_ids)
            | Q(referral__employee_id__in=affiliate_ids),
            paid_at__gte=min(months),
            paid_at__lt=rules.add_months(max(months), 1),
        )
        .annotate(month=TruncMonth("paid_at", tzinfo=UTC))
        .values_list("referral__affiliate_id", "referral__employee_id", "month")
        .annotate(total=Sum("program_amount"))
        .order_by()
    )
    sales = dict.fromkeys(wanted, 0)
    for affiliate_id, employee_id, month, total in rows:
        # Once per affiliate, as previous_month_sales' OR counts it.
        for earner in {affiliate_id, employee_id} - {None}:
            if (earner, month) in sales:
                sales[(earner, month)] += total or 0
    memo.sales.update(sales)


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


# --- Stripe handlers ---------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _obj(event: StoredEvent) -> dict[str, Any]:
    """The event's `data.object`; MalformedEvent when it is not a JSON object."""
    obj = _dict(_dict(event.payload).get("data")).get("object")
    if not isinstance(obj, dict):
        raise MalformedEvent(
            f"data.object is {type(obj).__name__}, not an object.", code="malformed_event"
        )
    return obj


def _loose_obj(event: StoredEvent) -> dict[str, Any]:
    """`data.object`, or {} when malformed (for prefetches and bookkeeping; the handlers
    use _obj and report the problem)."""
    return _dict(_dict(_dict(event.payload).get("data")).get("object"))


def _id(value: Any) -> str:
    """A Stripe id from an id or an expanded object; "" for anything else (Stripe ids are
    short ASCII; a NUL byte would make PostgreSQL refuse the whole query)."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    text = str(value)
    return "" if "\x00" in text or len(text) > 255 else text


def _ts(value: Any, default: datetime) -> datetime:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else default


def referral_for_stripe_customer(
    stripe_customer_id: str, metadata: dict | None = None, cache: dict | None = None
) -> Referral | None:
    """The referral behind a Stripe customer: Referral.stripe_customer_id given at signup,
    else a link learnt from `metadata.ambassador_customer_id` / `client_reference_id`."""
    if not stripe_customer_id:
        return None
    key = ("referral", stripe_customer_id)
    if cache is not None and key in cache:
        return cache[key]
    referral = _referral_lookup(stripe_customer_id=stripe_customer_id)
    if referral is None:
        customer_id = _id(_dict(metadata).get("ambassador_customer_id")) or (
            StripeCustomerLink.objects.filter(stripe_customer_id=stripe_customer_id)
            .values_list("customer_id", flat=True)
            .first()
        )
        if customer_id:
            referral = _referral_lookup(customer_id=customer_id)
    if referral is not None and referral.affiliate_id is None and referral.employee_id is None:
        referral = None  # seen but credited to nobody
    if cache is not None:
        cache[key] = referral
    return referral


def _referral_lookup(*, customer_id: str | None = None, stripe_customer_id: str | None = None):
    try:  # the tracking app's selector when it exists
        from tracking.selectors import referral_for_customer  # type: ignore[attr-defined]
    except ImportError:
        qs = Referral.objects.select_related("affiliate", "employee")
        if customer_id:
            return selectors.one(qs.filter(customer_id=customer_id))
        return selectors.one(qs.filter(stripe_customer_id=stripe_customer_id))
    return referral_for_customer(customer_id=customer_id, stripe_customer_id=stripe_customer_id)


def handle_invoice_paid(event: StoredEvent) -> None:
    """`invoice.paid` and `invoice.payment_succeeded` (real Stripe sends both for one
    invoice; localstripe only the latter): one Payment per invoice id."""
    invoice = _obj(event)
    cache = getattr(event, "_cache", None)
    referral = referral_for_stripe_customer(
        _id(invoice.get("customer")), invoice.get("metadata"), cache
    )
    if referral is None:
        raise Skip("customer not referred")
    paid = int(invoice.get("amount_paid") or 0)
    tax = int(invoice.get("tax") or 0) or sum(
        int(t.get("amount") or 0) for t in invoice.get("total_tax_amounts") or []
    )
    net = max(0, paid - tax)
    if net == 0:
        raise Skip("nothing paid")
    lines = ((invoice.get("lines") or {}).get("data")) or [{}]
    line = lines[0]
    plan = line.get("plan") or (line.get("price") or {})
    product_plan = str(plan.get("nickname") or plan.get("lookup_key") or plan.get("id") or "")
    subscription = _id(invoice.get("subscription")) or _id(
        ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    )
    charge = invoice.get("charge")
    fx = None
    if isinstance(charge, dict) and isinstance(charge.get("balance_transaction"), dict):
        rate = charge["balance_transaction"].get("exchange_rate")
        # Stripe sends it as a JSON number (a float: 0.9174311926605505); stored rates keep
        # 10 places, so the program amount is computed with the rate as it is stored.
        fx = Decimal(str(rate)).quantize(Decimal(1).scaleb(-10)) if rate else None
    paid_at = _ts((invoice.get("status_transitions") or {}).get("paid_at"), event.created)
    services.record_payment(
        referral=referral,
        data=services.PaymentInput(
            provider=StoredEvent.Provider.STRIPE,
            external_id=str(invoice["id"]),
            amount=net,
            tax=tax,
            currency=str(invoice.get("currency") or "usd").upper(),
            paid_at=paid_at,
            product_plan=product_plan,
            subscription_id=subscription,
            charge_id=_id(charge),
            payment_intent_id=_id(invoice.get("payment_intent")),
            provider_fx_rate=fx,
        ),
        now=event.processed_now,  # type: ignore[attr-defined]
        reported_at=event.created,
        cache=cache,
        recompute=getattr(event, "reprocess", False),
    )
    if cache is not None:
        cache[("invoice", invoice["id"])] = True


def handle_charge_refunded(event: StoredEvent) -> None:
    charge = _obj(event)
    refunds = ((charge.get("refunds") or {}).get("data")) or []
    if not refunds and charge.get("amount_refunded"):
        # No refund list in the payload: one synthetic refund per cumulative amount seen.
        refunds = [
            {
                "id": f"{charge['id']}:refunded:{charge['amount_refunded']}",
                "amount": int(charge["amount_refunded"]),
                "status": "succeeded",
                "created": event.payload.get("created"),
                "cumulative": True,
            }
        ]
    for refund in refunds:
        _record_stripe_refund(refund, charge_id=str(charge["id"]), event=event, charge=charge)


def handle_refund(event: StoredEvent) -> None:
    """`refund.created` / `refund.updated` / `charge.refund.updated`, and refunds the sync
    stored from the refunds list (localstripe sends no refund events at all)."""
    refund = _obj(event)
    _record_stripe_refund(refund, charge_id=_id(refund.get("charge")), event=event)


def _record_stripe_refund(
    refund: dict, *, charge_id: str, event: StoredEvent, charge: dict | None = None
) -> None:
    if refund.get("status") not in ("succeeded", "pending", None):
        return  # failed or canceled refunds move no money
    payment_ref = charge_id or _id(refund.get("payment_intent"))
    if not payment_ref:
        return
    amount = int(refund.get("amount") or 0)
    if refund.get("cumulative"):
        # Only the part above what is already booked for this charge.
        from django.db.models import Sum

        from commissions.models import Refund

        booked = (
            Refund.objects.filter(provider="stripe", payment_ref=payment_ref).aggregate(
                s=Sum("amount")
            )["s"]
            or 0
        )
        amount -= booked
    if amount <= 0:
        return
    services.record_refund(
        provider=StoredEvent.Provider.STRIPE,
        external_id=str(refund["id"]),
        payment_ref=payment_ref,
        amount=amount,
        currency=str(refund.get("currency") or (charge or {}).get("currency") or "usd"),
        refunded_at=_ts(refund.get("created"), event.created),
        now=event.processed_now,  # type: ignore[attr-defined]
        reported_at=event.created,
    )


def handle_dispute(event: StoredEvent) -> None:
    dispute = _obj(event)
    status = str(dispute.get("status") or "")
    if status in ("won", "lost"):
        ours = status
    elif event.type == "charge.dispute.closed":
        ours = Dispute.Status.WON  # warning_closed and the like: the money stays with us
    else:
        ours = Dispute.Status.OPEN
    services.record_dispute(
        provider=StoredEvent.Provider.STRIPE,
        external_id=str(dispute["id"]),
        payment_ref=_id(dispute.get("charge")) or _id(dispute.get("payment_intent")),
        amount=int(dispute.get("amount") or 0),
        currency=str(dispute.get("currency") or "usd"),
        status=ours,
        at=event.created,
        now=event.processed_now,  # type: ignore[attr-defined]
    )


def handle_subscription(event: StoredEvent) -> None:
    sub = _obj(event)
    referral = referral_for_stripe_customer(
        _id(sub.get("customer")), sub.get("metadata"), getattr(event, "_cache", None)
    )
    if referral is None:
        raise Skip("customer not referred")
    items = ((sub.get("items") or {}).get("data")) or [{}]
    plan = sub.get("plan") or items[0].get("plan") or items[0].get("price") or {}
    status = "canceled" if event.type.endswith(".deleted") else str(sub.get("status") or "")
    services.record_plan_change(
        event_id=event.event_id,
        referral=referral,
        subscription_id=str(sub.get("id") or ""),
        product_plan=str(plan.get("nickname") or plan.get("lookup_key") or plan.get("id") or ""),
        status=status,
        changed_at=event.created,
    )


def _customer_link_in(event: StoredEvent) -> str:
    return _id(_dict(_obj(event).get("metadata")).get("ambassador_customer_id"))


def handle_customer(event: StoredEvent) -> None:
    customer = _obj(event)
    ours = _customer_link_in(event)
    if not ours:
        raise Skip("no ambassador_customer_id")
    services.link_stripe_customer(
        stripe_customer_id=str(customer["id"]), customer_id=str(ours), how="customer metadata"
    )


def handle_checkout_completed(event: StoredEvent) -> None:
    session = _obj(event)
    if not session.get("client_reference_id") or not session.get("customer"):
        raise Skip("no client_reference_id")
    services.link_stripe_customer(
        stripe_customer_id=_id(session["customer"]),
        customer_id=str(session["client_reference_id"]),
        how="checkout client_reference_id",
    )


# --- API-reported payments and refunds (same store, same stage two) ----------------------


def handle_api_payment(event: StoredEvent) -> None:
    data = event.payload["data"]
    referral = _referral_lookup(customer_id=str(data["customer_id"]))
    if referral is None or (referral.affiliate_id is None and referral.employee_id is None):
        raise Skip("customer not referred")
    rate = data.get("exchange_rate")
    services.record_payment(
        referral=referral,
        data=services.PaymentInput(
            provider=StoredEvent.Provider.API,
            external_id=str(data["payment_id"]),
            amount=int(data["amount"]),
            currency=str(data["currency"]),
            paid_at=datetime.fromisoformat(data["paid_at"]),
            product_plan=str(data.get("plan") or ""),
            provider_fx_rate=Decimal(rate) if rate else None,
        ),
        now=event.processed_now,  # type: ignore[attr-defined]
        cache=getattr(event, "_cache", None),
        recompute=getattr(event, "reprocess", False),
    )


def handle_api_refund(event: StoredEvent) -> None:
    data = event.payload["data"]
    services.record_refund(
        provider=StoredEvent.Provider.API,
        external_id=str(data["refund_id"]),
        payment_ref=str(data["payment_id"]),
        amount=int(data["amount"]),
        currency=str(data.get("currency") or ""),
        refunded_at=datetime.fromisoformat(data["refunded_at"]),
        now=event.processed_now,  # type: ignore[attr-defined]
    )


for _type in ("invoice.paid", "invoice.payment_succeeded"):
    register_handler(_type, handle_invoice_paid)
register_handler("charge.refunded", handle_charge_refunded)
for _type in ("refund.created", "refund.updated", "charge.refund.updated", "refund.synced"):
    register_handler(_type, handle_refund)
for _type in ("charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed"):
    register_handler(_type, handle_dispute)
for _type in (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
):
    register_handler(_type, handle_subscription)
for _type in ("customer.created", "customer.updated"):
    register_handler(_type, handle_customer)
register_handler("checkout.session.completed", handle_checkout_completed)
register_handler("api.payment", handle_api_payment)
register_handler("api.refund", handle_api_refund)


# --- catch-up sync -----------------------------------------------------------------------

SYNC_OVERLAP_SECONDS = 300  # events of the last few minutes are re-read (duplicates ignored)


def sync_stripe(*, now: datetime) -> dict[str, int]:
    """Pull Stripe's events created at or after the stored cursor into the store (the
    webhook's safety net), then refunds newer than the cursor as `refund.synced` entries
    (localstripe sends no refund events; real Stripe's refund events dedupe on refund id
    in stage two). Returns how many rows were new."""
    from commissions import stripe_client
    from commissions.models import SyncCursor

    cursor, _ = SyncCursor.objects.get_or_create(name="stripe_events")
    start = cursor.created_gte
    newest = start
    counts = {"events": 0, "refunds": 0}
    for event in stripe_client.iter_events(created_gte=start or None):
        _, created = store_event(provider="stripe", event=event, via="sync", now=now)
        counts["events"] += created
        newest = max(newest, int(event.get("created") or 0))
    for refund in stripe_client.iter_refunds():
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


# --- API submissions ---------------------------------------------------------------------


def submit_api_event(
    *, kind: str, external_id: str, data: dict[str, Any], created: datetime, now: datetime
) -> tuple[StoredEvent, bool]:
    """Store a payment or refund reported through the API as an event of its own, and run
    stage two on it at once. Idempotent on the external id: the same content again returns
    the stored event; different content under the same id is a conflict (409). On any
    error nothing is stored."""
    from config.errors import Conflict

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
