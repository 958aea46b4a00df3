"""Every write of the payouts app: payout methods, the payout run, sending through PayPal
and Stripe Connect, provider results, manual payment, and the admin's actions.

Ledger entries move only through commissions.services.move_entries (compare-and-set):
approved → in_payout when a payout is created, in_payout → paid when it is paid,
in_payout → approved when it fails (they go out in the next run).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from commissions.models import CommissionEntry
from config import queue
from config.errors import Conflict, ServiceError
from config.money import to_decimal_string
from payouts import providers
from payouts.models import Payout, PayoutAccount, PayoutItem, PayoutRun, PayPalBatch, PayPalEvent
from payouts.providers import PermanentError, TransientError
from payouts.services.accounts import (
    BANK_DETAILS_MAX_LENGTH,
    confirm_paypal_email,
    get_account,
    hold_affiliate,
    refresh_onboarding_accounts,
    refresh_stripe_account,
    release_affiliate,
    set_manual_details,
    set_paypal_email,
    set_tax_details,
    start_stripe_onboarding,
    stripe_onboarding_link,
)
from payouts.services.history import audit
from payouts.services.notifications import notify_payout, notify_run_summary, program_manager_emails
from payouts.services.outcomes import (
    FINAL_STATES,
    close_batch_if_final,
    complete_runs_if_final,
    fail_payout,
    fail_unknown_payouts,
    jsonable,
    mark_paid_manually,
    mark_payout_paid,
    move_entries_in_chunks,
)
from payouts.services.runs import (
    PAYPAL_BATCH_LIMIT,
    RUN_LOCK_KEY,
    RunResult,
    approve_run,
    retry_failed,
    run_payouts,
)

__all__ = [
    "BANK_DETAILS_MAX_LENGTH",
    "FINAL_STATES",
    "PAYPAL_BATCH_LIMIT",
    "PAYPAL_FAILED",
    "PAYPAL_WAITING",
    "RUN_LOCK_KEY",
    "RunResult",
    "apply_paypal_item",
    "approve_run",
    "audit",
    "close_batch_if_final",
    "complete_runs_if_final",
    "confirm_paypal_email",
    "fail_payout",
    "fail_unknown_payouts",
    "get_account",
    "handle_stripe_event",
    "hold_affiliate",
    "jsonable",
    "mark_paid_manually",
    "mark_payout_paid",
    "move_entries_in_chunks",
    "notify_payout",
    "notify_run_summary",
    "poll_payouts",
    "process_paypal_event",
    "program_manager_emails",
    "record_transfer_reversed",
    "refresh_onboarding_accounts",
    "refresh_paypal_batch",
    "refresh_stripe_account",
    "release_affiliate",
    "retry_failed",
    "run_payouts",
    "send_paypal_batch",
    "send_stripe_payout",
    "set_manual_details",
    "set_paypal_email",
    "set_tax_details",
    "start_stripe_onboarding",
    "store_connect_event",
    "store_paypal_event",
    "stripe_onboarding_link",
]


log = logging.getLogger(__name__)

# PayPal item statuses that end a payout without the money arriving.
PAYPAL_FAILED = {"FAILED", "RETURNED", "BLOCKED", "REFUNDED", "REVERSED", "DENIED", "CANCELED"}
# Not final: UNCLAIMED expires after 30 days and comes back as RETURNED.
PAYPAL_WAITING = {"PENDING", "UNCLAIMED", "ONHOLD", "NEW"}

S = Payout.State
E = CommissionEntry.State


# --- Payout methods ---------------------------------------------------------------------


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


# --- The payout run ---------------------------------------------------------------------


# --- Payout outcomes --------------------------------------------------------------------


# --- Sending: PayPal --------------------------------------------------------------------


def _paypal_item(payout: Payout) -> dict[str, str]:
    return {
        "sender_item_id": str(payout.pk),
        "receiver": payout.destination,
        "value": to_decimal_string(payout.amount, payout.currency),
        "currency": payout.currency,
        "note": f"{settings.PROGRAM_NAME} affiliate commissions",
    }


def send_paypal_batch(
    *, batch_id: int, now: datetime, client: providers.PayPalPayouts | None = None
) -> str:
    """Send one PayPal batch. Safe to run twice, and after a crash at any point: the
    sender_batch_id was stored with the run, and PayPal pays a sender_batch_id once, so a
    batch left sending/unknown is reconciled by re-sending the same id. PayPal rejects the
    repeat with a link to the original batch, which the client reads and returns: a
    duplicate rejection is "already sent", never a failure (there is no other way to look a
    batch up by our id). Without a readable original the batch becomes `unresolved`."""
    with transaction.atomic():
        batch = PayPalBatch.objects.select_for_update().get(pk=batch_id)
        if batch.run.state != PayoutRun.State.APPROVED:
            return batch.state
        if batch.state in (
            PayPalBatch.State.SENT,
            PayPalBatch.State.DONE,
            PayPalBatch.State.FAILED,
            PayPalBatch.State.UNRESOLVED,
        ):
            return batch.state
        batch.state = PayPalBatch.State.SENDING
        batch.attempts += 1
        batch.save(update_fields=["state", "attempts"])
        Payout.objects.filter(paypal_batch=batch, state__in=[S.PENDING, S.UNKNOWN]).update(
            state=S.SENDING, attempts=1
        )
    # Committed before the call: "sending" and the key survive whatever happens next.
    payouts = list(Payout.objects.filter(paypal_batch_id=batch_id, state=S.SENDING).order_by("pk"))
    if not payouts:
        PayPalBatch.objects.filter(pk=batch_id).update(state=PayPalBatch.State.DONE)
        return PayPalBatch.State.DONE
    client = client or providers.get_paypal()
    try:
        answer = client.create_batch(
            sender_batch_id=batch.sender_batch_id,
            items=[_paypal_item(p) for p in payouts],
            provider_batch_id=batch.provider_batch_id,
        )
    except providers.AlreadySentNotFound as exc:
        # "Already sent" without an original to read: the money may have gone out. Failing
        # would return the entries to approved and the next run would pay them again, and
        # re-sending is rejected for 30 days; so the payouts wait in `unknown`, the batch in
        # `unresolved` (the sweeper skips it), for a person who checks PayPal.
        with transaction.atomic():
            PayPalBatch.objects.filter(pk=batch_id).update(
                state=PayPalBatch.State.UNRESOLVED,
                response={"error": exc.message, "body": jsonable(exc.response)},
            )
            Payout.objects.filter(paypal_batch_id=batch_id, state=S.SENDING).update(
                state=S.UNKNOWN,
                failure_reason=(
                    "PayPal says this batch was already sent but its original cannot be "
                    "found: check PayPal, then mark the payout paid (or failed) by hand."
                ),
            )
        log.error("PayPal batch %s: %s; needs a person", batch_id, exc.message)
        return PayPalBatch.State.UNRESOLVED
    except TransientError as exc:
        with transaction.atomic():
            PayPalBatch.objects.filter(pk=batch_id).update(state=PayPalBatch.State.UNKNOWN)
            Payout.objects.filter(paypal_batch_id=batch_id, state=S.SENDING).update(state=S.UNKNOWN)
        log.warning("PayPal batch %s: outcome unknown (%s); will reconcile", batch_id, exc)
        raise
    except PermanentError as exc:
        with transaction.atomic():
            PayPalBatch.objects.filter(pk=batch_id).update(
                state=PayPalBatch.State.FAILED,
                response={"error": exc.message, "body": jsonable(exc.response)},
            )
            for payout in payouts:
                fail_payout(
                    payout_id=payout.pk, now=now, reason=f"PayPal refused the batch: {exc.message}"
                )
        return PayPalBatch.State.FAILED
    header = answer.get("batch_header", {})
    with transaction.atomic():
        PayPalBatch.objects.filter(pk=batch_id).update(
            state=PayPalBatch.State.SENT,
            provider_batch_id=header.get("payout_batch_id", ""),
            provider_status=header.get("batch_status", ""),
            response=answer,
            sent_at=now,
        )
        Payout.objects.filter(paypal_batch_id=batch_id, state=S.SENDING).update(sent_at=now)
        if answer.get("items"):
            _apply_paypal_batch(batch_id=batch_id, answer=answer, now=now)
    return PayPalBatch.State.SENT


def refresh_paypal_batch(
    *, batch_id: int, now: datetime, client: providers.PayPalPayouts | None = None
) -> str:
    """Status poll: read the batch and its items from PayPal and apply every item's result
    (batch webhooks carry no item data)."""
    batch = PayPalBatch.objects.get(pk=batch_id)
    if not batch.provider_batch_id:
        return batch.state
    client = client or providers.get_paypal()
    answer = client.get_batch(provider_batch_id=batch.provider_batch_id)
    with transaction.atomic():
        _apply_paypal_batch(batch_id=batch_id, answer=answer, now=now)
    return PayPalBatch.objects.get(pk=batch_id).state


def _apply_paypal_batch(*, batch_id: int, answer: dict, now: datetime) -> None:
    header = answer.get("batch_header", {})
    status = header.get("batch_status", "")
    PayPalBatch.objects.filter(pk=batch_id).update(provider_status=status)
    if status in ("DENIED", "CANCELED"):
        for payout_id in Payout.objects.filter(paypal_batch_id=batch_id).values_list(
            "pk", flat=True
        ):
            fail_payout(
                payout_id=payout_id,
                now=now,
                reason=f"PayPal batch {status.lower()}",
                provider_status=status,
            )
    items = answer.get("items") or []
    successes = [i for i in items if (i.get("transaction_status") or "").upper() == "SUCCESS"]
    _apply_paypal_successes(successes, now=now)
    for item in items:
        if (item.get("transaction_status") or "").upper() != "SUCCESS":
            apply_paypal_item(item=item, now=now)
    close_batch_if_final(batch_id)


def _apply_paypal_successes(items: list[dict], *, now: datetime) -> None:
    """The common case of a batch poll, in bulk: every SUCCESS item's payout → paid and its
    entries in_payout → paid, a handful of statements for thousands of items (same rules as
    mark_payout_paid: only payouts still open move)."""
    by_id = {}
    for item in items:
        sender_item_id = str((item.get("payout_item") or {}).get("sender_item_id", ""))
        if sender_item_id.isdigit():
            by_id[int(sender_item_id)] = item
    with transaction.atomic():
        payouts = list(
            Payout.objects.select_for_update().filter(
                pk__in=list(by_id),
                method=PayoutAccount.Method.PAYPAL,
                state__in=[S.PENDING, S.SENDING, S.UNKNOWN],
            )
        )
        if not payouts:
            return
        for payout in payouts:
            item = by_id[payout.pk]
            payout.state, payout.paid_at = S.PAID, now
            payout.provider_id = item.get("payout_item_id", "")
            payout.provider_status = "SUCCESS"
            payout.provider_response = item
        Payout.objects.bulk_update(
            payouts,
            ["state", "paid_at", "provider_id", "provider_status", "provider_response"],
            batch_size=1000,
        )
        payout_ids = [p.pk for p in payouts]
        entry_ids = list(
            PayoutItem.objects.filter(payout_id__in=payout_ids, live=True).values_list(
                "entry_id", flat=True
            )
        )
        moved = move_entries_in_chunks(entry_ids, from_state=E.IN_PAYOUT, to_state=E.PAID, now=now)
        if moved != len(entry_ids):
            raise Conflict(f"Only {moved}/{len(entry_ids)} entries of paid payouts were in payout.")
        for payout_id in payout_ids:
            queue.enqueue_on_commit("payouts.notify_payout", payout_id=payout_id)
        complete_runs_if_final(run_ids={p.run_id for p in payouts}, now=now)


def apply_paypal_item(*, item: dict, now: datetime) -> str:
    """One PayPal payout item's result → our payout. An upsert of state: applying the same
    item twice, or an older status after a final one, changes nothing."""
    sender_item_id = str((item.get("payout_item") or {}).get("sender_item_id", ""))
    if not sender_item_id.isdigit():
        return ""
    payout = Payout.objects.filter(
        pk=int(sender_item_id), method=PayoutAccount.Method.PAYPAL
    ).first()
    if payout is None:
        return ""
    status = (item.get("transaction_status") or "").upper()
    item_id = item.get("payout_item_id", "")
    if status == "SUCCESS":
        mark_payout_paid(
            payout_id=payout.pk, now=now, provider_id=item_id, provider_status=status, response=item
        )
    elif status in PAYPAL_FAILED:
        errors = item.get("errors") or {}
        reason = _paypal_failure_reason(status, errors)
        fail_payout(
            payout_id=payout.pk, now=now, reason=reason, provider_status=status, response=item
        )
    elif status in PAYPAL_WAITING:
        Payout.objects.filter(pk=payout.pk, state__in=[S.SENDING, S.UNKNOWN]).update(
            state=S.SENDING, provider_id=item_id, provider_status=status, provider_response=item
        )
        if status == "UNCLAIMED" and payout.provider_status != "UNCLAIMED":
            queue.enqueue_on_commit("payouts.notify_payout", payout_id=payout.pk)
    if payout.paypal_batch_id:
        close_batch_if_final(payout.paypal_batch_id)
    return status


def _paypal_failure_reason(status: str, errors: dict) -> str:
    if status == "RETURNED":
        return (
            "PayPal returned the payout: it was not claimed within 30 days. Make sure your "
            "PayPal e-mail is right and has a PayPal account, then confirm it again."
        )
    name = errors.get("name", "")
    if name in ("RECEIVER_UNREGISTERED", "RECEIVER_UNCONFIRMED", "RECEIVER_ACCOUNT_LOCKED"):
        return f"PayPal could not pay this e-mail ({name}). Check your PayPal e-mail in payout settings."
    return f"PayPal: {status} {name} {errors.get('message', '')}".strip()


# --- Sending: Stripe Connect ------------------------------------------------------------


def send_stripe_payout(
    *, payout_id: int, now: datetime, client: providers.StripeConnect | None = None
) -> str:
    """One Stripe Connect transfer. The stored idempotency key is reused on every attempt,
    and a payout that was attempted before (sending / unknown: the worker may have died
    after Stripe accepted) is first looked up by its transfer_group — Stripe prunes keys
    after 24 h, so our own record and that lookup are the durable guard."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().select_related("run").get(pk=payout_id)
        if (
            payout.method != PayoutAccount.Method.STRIPE
            or payout.run.state != PayoutRun.State.APPROVED
        ):
            return payout.state
        if payout.state not in (S.PENDING, S.SENDING, S.UNKNOWN):
            return payout.state
        attempted_before = payout.state != S.PENDING or payout.attempts > 0
        payout.state = S.SENDING
        payout.attempts += 1
        payout.save(update_fields=["state", "attempts"])
    client = client or providers.get_stripe_connect()
    group = f"payout-{payout.pk}"
    try:
        if attempted_before:
            found = [
                t
                for t in client.find_transfers(transfer_group=group)
                if str((t.get("metadata") or {}).get("payout_id")) == str(payout.pk)
            ]
            if found:
                transfer = found[-1]
                mark_payout_paid(
                    payout_id=payout.pk,
                    now=now,
                    provider_id=transfer["id"],
                    provider_status="transfer",
                    response=transfer,
                )
                return S.PAID
        transfer = client.create_transfer(
            amount=payout.amount,
            currency=payout.currency,
            destination=payout.destination,
            transfer_group=group,
            metadata={"payout_id": str(payout.pk), "affiliate": payout.affiliate.public_id},
            idempotency_key=payout.idempotency_key,
        )
    except TransientError as exc:
        Payout.objects.filter(pk=payout.pk, state=S.SENDING).update(
            state=S.UNKNOWN, failure_reason=exc.message[:300]
        )
        log.warning("Stripe payout %s: outcome unknown (%s); will reconcile", payout.pk, exc)
        raise
    except PermanentError as exc:
        fail_payout(
            payout_id=payout.pk,
            now=now,
            reason=f"Stripe refused the transfer: {exc.message}",
            response={"error": jsonable(exc.response)},
        )
        return S.FAILED
    # A Connect transfer lands in the connected account's Stripe balance at once.
    mark_payout_paid(
        payout_id=payout.pk,
        now=now,
        provider_id=transfer["id"],
        provider_status="transfer",
        response=transfer,
    )
    return S.PAID


def record_transfer_reversed(*, transfer: dict, now: datetime) -> bool:
    """`transfer.reversed`: the money came back from the connected account. The entries stay
    paid (a paid entry never moves back); the reversal is recorded for the admin, who adds
    an adjustment entry if the affiliate should be paid again."""
    payout_id = str((transfer.get("metadata") or {}).get("payout_id", ""))
    query = Q(provider_id=transfer.get("id", "")) | (
        Q(pk=int(payout_id)) if payout_id.isdigit() else Q()
    )
    payout = Payout.objects.filter(query, method=PayoutAccount.Method.STRIPE).first()
    if payout is None:
        return False
    Payout.objects.filter(pk=payout.pk).update(
        reversed_amount=int(transfer.get("amount_reversed") or 0), provider_status="reversed"
    )
    audit(
        action="payout_transfer_reversed",
        affiliate=payout.affiliate,
        actor=None,
        now=now,
        payout=payout.pk,
        amount_reversed=transfer.get("amount_reversed"),
    )
    return True


# --- Poll / sweep -----------------------------------------------------------------------


def poll_payouts(*, now: datetime, stale_after: timedelta = timedelta(minutes=5)) -> dict[str, int]:
    """The safety net for webhooks and lost tasks: resend batches and transfers whose task
    never ran (pending, stale), reconcile unknown ones by asking the provider, and read the
    item results of PayPal batches that are still open."""
    counts = {"paypal_sent": 0, "paypal_polled": 0, "stripe": 0, "errors": 0}
    cutoff = now - stale_after
    approved_runs = PayoutRun.objects.filter(state=PayoutRun.State.APPROVED)
    resend = PayPalBatch.objects.filter(run__in=approved_runs).filter(
        Q(state=PayPalBatch.State.UNKNOWN)
        | Q(
            state__in=[PayPalBatch.State.PENDING, PayPalBatch.State.SENDING], created_at__lte=cutoff
        )
    )
    for batch_id in resend.values_list("pk", flat=True):
        try:
            send_paypal_batch(batch_id=batch_id, now=now)
            counts["paypal_sent"] += 1
        except (TransientError, providers.ProviderNotConfigured):
            counts["errors"] += 1
    for batch_id in PayPalBatch.objects.filter(state=PayPalBatch.State.SENT).values_list(
        "pk", flat=True
    ):
        try:
            refresh_paypal_batch(batch_id=batch_id, now=now)
            counts["paypal_polled"] += 1
        except (TransientError, PermanentError, providers.ProviderNotConfigured):
            counts["errors"] += 1
    stripe_open = Payout.objects.filter(
        run__in=approved_runs, method=PayoutAccount.Method.STRIPE
    ).filter(Q(state=S.UNKNOWN) | Q(state__in=[S.PENDING, S.SENDING], created_at__lte=cutoff))
    for payout_id in stripe_open.values_list("pk", flat=True):
        try:
            send_stripe_payout(payout_id=payout_id, now=now)
            counts["stripe"] += 1
        except (TransientError, providers.ProviderNotConfigured):
            counts["errors"] += 1
    return counts


# --- Webhooks ---------------------------------------------------------------------------


def store_paypal_event(
    *, headers: dict[str, str], body: bytes, now: datetime
) -> PayPalEvent | None:
    """Verify with PayPal, store the raw event once (replays harmless), process after commit."""
    import json

    if not providers.get_paypal().verify_webhook(headers=headers, body=body):
        raise ServiceError("PayPal webhook signature did not verify.", code="bad_signature")
    event = json.loads(body)
    event_id = str(event.get("id") or "")
    if not event_id:
        raise ServiceError("PayPal event without an id.")
    stored, created = PayPalEvent.objects.get_or_create(
        event_id=event_id,
        defaults={"event_type": event.get("event_type", ""), "body": event, "received_at": now},
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
    outcome = "ignored"
    if event.event_type.startswith("PAYMENT.PAYOUTS-ITEM."):
        item_id = resource.get("payout_item_id")
        if item_id:
            outcome = apply_paypal_item(item=client.get_item(item_id=item_id), now=now)
    elif event.event_type.startswith("PAYMENT.PAYOUTSBATCH."):
        provider_batch_id = (resource.get("batch_header") or {}).get("payout_batch_id", "")
        batch = PayPalBatch.objects.filter(provider_batch_id=provider_batch_id).first()
        if batch is not None:
            outcome = refresh_paypal_batch(batch_id=batch.pk, now=now, client=client)
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


# --- Notifications ----------------------------------------------------------------------
