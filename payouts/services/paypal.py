"""Sending through PayPal Payouts: send a batch, poll it, and apply each item's result."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction

from commissions.models import CommissionEntry
from config import queue
from config.errors import Conflict
from config.money import to_decimal_string
from payouts import providers
from payouts.models import Payout, PayoutAccount, PayoutItem, PayoutRun, PayPalBatch
from payouts.providers import PermanentError, TransientError
from payouts.services.outcomes import (
    close_batch_if_final,
    complete_runs_if_final,
    fail_payout,
    jsonable,
    mark_payout_paid,
    move_entries_in_chunks,
)

log = logging.getLogger(__name__)
S = Payout.State
E = CommissionEntry.State


# PayPal item statuses that end a payout without the money arriving.
PAYPAL_FAILED = {"FAILED", "RETURNED", "BLOCKED", "REFUNDED", "REVERSED", "DENIED", "CANCELED"}


# Not final: UNCLAIMED expires after 30 days and comes back as RETURNED.
PAYPAL_WAITING = {"PENDING", "UNCLAIMED", "ONHOLD", "NEW"}


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
