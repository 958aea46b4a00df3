"""Sending through PayPal Payouts: a batch (≤ 15,000 payouts, one sender_batch_id kept
for every retry) is sent, then polled, and each item's result applied to its payout.

Every money-moving call is recorded in the payouts' history before it is made (what is
sent, the sender_batch_id), and every answer with the state change it causes."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F

from config import queue
from config.money import to_decimal_string
from payouts.gateways import base, registry
from payouts.gateways.base import PermanentError, TransientError
from payouts.models import Payout, PayoutAccount, PayoutRun, PayPalBatch
from payouts.services.history import Cause, Kind, append, event, jsonable
from payouts.services.transitions import (
    Outcome,
    close_batch_if_final,
    move_batch,
    move_payouts,
    note_outcome,
)

log = logging.getLogger(__name__)
S = Payout.State
B = PayPalBatch.State


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
    *,
    batch_id: int,
    now: datetime,
    client: base.PayPalPayouts | None = None,
    source: str = "send_paypal_batch",
) -> str:
    """Send one PayPal batch. Safe to run twice, and after a crash at any point: the
    sender_batch_id was stored with the run, and PayPal pays a sender_batch_id once, so a
    batch left sending/unknown is reconciled by re-sending the same id. PayPal rejects the
    repeat with a link to the original batch, which the client reads and returns: a
    duplicate rejection is "already sent", never a failure (there is no other way to look a
    batch up by our id). Without a readable original the batch becomes `unresolved`."""
    cause = Cause(source)
    with transaction.atomic():
        batch = PayPalBatch.objects.select_for_update().select_related("run").get(pk=batch_id)
        if batch.run.state != PayoutRun.State.APPROVED:
            return batch.state
        # A batch already sending (the worker died mid-call) is sent again as it is.
        if batch.state != B.SENDING and not move_batch(batch_id=batch_id, to=B.SENDING, now=now):
            return batch.state
        PayPalBatch.objects.filter(pk=batch_id).update(attempts=F("attempts") + 1)
        in_batch = Payout.objects.filter(paypal_batch_id=batch_id)
        move_payouts(
            ids=list(in_batch.values_list("pk", flat=True)),
            to=S.SENDING,
            now=now,
            cause=cause,
            fields={"attempts": 1},
        )
        payouts = list(in_batch.filter(state=S.SENDING).order_by("pk"))
        if not payouts:
            move_batch(batch_id=batch_id, to=B.DONE, now=now)
            return B.DONE
        items = [_paypal_item(p) for p in payouts]
        append(
            event(
                payout_id=p.pk,
                kind=Kind.PROVIDER_CALL,
                cause=cause,
                now=now,
                idempotency_key=batch.sender_batch_id,
                sent=item,
            )
            for p, item in zip(payouts, items, strict=True)
        )
    # Committed before the call: "sending", the key and what is sent survive whatever
    # happens next.
    payout_ids = [p.pk for p in payouts]
    client = client or registry.get_paypal()
    try:
        answer = client.create_batch(
            sender_batch_id=batch.sender_batch_id,
            items=items,
            provider_batch_id=batch.provider_batch_id,
        )
    except base.AlreadySentNotFound as exc:
        # "Already sent" without an original to read: the money may have gone out. Failing
        # would return the entries to approved and the next run would pay them again, and
        # re-sending is rejected for 30 days; so the payouts wait in `unknown`, the batch in
        # `unresolved` (the sweeper skips it), for a person who checks PayPal.
        with transaction.atomic():
            move_batch(
                batch_id=batch_id,
                to=B.UNRESOLVED,
                now=now,
                fields={"response": {"error": exc.message, "body": jsonable(exc.response)}},
            )
            move_payouts(
                ids=payout_ids,
                to=S.UNKNOWN,
                now=now,
                cause=cause,
                outcome=Outcome(
                    reason=(
                        "PayPal says this batch was already sent but its original cannot be "
                        "found: check PayPal, then mark the payout paid (or failed) by hand."
                    ),
                    error=exc.message,
                ),
            )
        log.error("PayPal batch %s: %s; needs a person", batch_id, exc.message)
        return B.UNRESOLVED
    except TransientError as exc:
        with transaction.atomic():
            move_batch(batch_id=batch_id, to=B.UNKNOWN, now=now)
            move_payouts(
                ids=payout_ids,
                to=S.UNKNOWN,
                now=now,
                cause=cause,
                outcome=Outcome(error=exc.message),
            )
        log.warning("PayPal batch %s: outcome unknown (%s); will reconcile", batch_id, exc)
        raise
    except PermanentError as exc:
        with transaction.atomic():
            move_batch(
                batch_id=batch_id,
                to=B.FAILED,
                now=now,
                fields={"response": {"error": exc.message, "body": jsonable(exc.response)}},
            )
            move_payouts(
                ids=payout_ids,
                to=S.FAILED,
                now=now,
                cause=cause,
                outcome=Outcome(reason=f"PayPal refused the batch: {exc.message}"),
            )
        return B.FAILED
    header = answer.get("batch_header", {})
    with transaction.atomic():
        move_batch(
            batch_id=batch_id,
            to=B.SENT,
            now=now,
            fields={
                "provider_batch_id": header.get("payout_batch_id", ""),
                "provider_status": header.get("batch_status", ""),
                "response": answer,
            },
        )
        sending = Payout.objects.filter(pk__in=payout_ids, state=S.SENDING)
        accepted = list(sending.values_list("pk", flat=True))
        sending.update(sent_at=now)
        append(
            event(
                payout_id=pk,
                kind=Kind.PROVIDER_ANSWER,
                cause=cause,
                now=now,
                received=header,
                provider_status=header.get("batch_status", ""),
                provider_reference=header.get("payout_batch_id", ""),
            )
            for pk in accepted
        )
        if answer.get("items"):
            _apply_paypal_batch(batch_id=batch_id, answer=answer, now=now, cause=cause)
    return B.SENT


def refresh_paypal_batch(
    *,
    batch_id: int,
    now: datetime,
    client: base.PayPalPayouts | None = None,
    source: str = "refresh_paypal_batch",
) -> str:
    """Status poll: read the batch and its items from PayPal and apply every item's result
    (batch webhooks carry no item data)."""
    batch = PayPalBatch.objects.get(pk=batch_id)
    if not batch.provider_batch_id:
        return batch.state
    client = client or registry.get_paypal()
    answer = client.get_batch(provider_batch_id=batch.provider_batch_id)
    with transaction.atomic():
        _apply_paypal_batch(batch_id=batch_id, answer=answer, now=now, cause=Cause(source))
    return PayPalBatch.objects.get(pk=batch_id).state


def _apply_paypal_batch(*, batch_id: int, answer: dict, now: datetime, cause: Cause) -> None:
    header = answer.get("batch_header", {})
    status = header.get("batch_status", "")
    PayPalBatch.objects.filter(pk=batch_id).update(provider_status=status)
    if status in ("DENIED", "CANCELED"):
        move_payouts(
            ids=list(Payout.objects.filter(paypal_batch_id=batch_id).values_list("pk", flat=True)),
            to=S.FAILED,
            now=now,
            cause=cause,
            outcome=Outcome(status=status, reason=f"PayPal batch {status.lower()}"),
        )
    items = answer.get("items") or []
    successes = [i for i in items if (i.get("transaction_status") or "").upper() == "SUCCESS"]
    _apply_paypal_successes(successes, now=now, cause=cause)
    for item in items:
        if (item.get("transaction_status") or "").upper() != "SUCCESS":
            _apply_item(item=item, now=now, cause=cause)
    close_batch_if_final(batch_id=batch_id, now=now)


def _apply_paypal_successes(items: list[dict], *, now: datetime, cause: Cause) -> None:
    """The common case of a batch poll, in bulk: every SUCCESS item's payout → paid and its
    entries in_payout → paid, a handful of statements for thousands of items (only payouts
    still open move)."""
    by_id = {}
    for item in items:
        sender_item_id = str((item.get("payout_item") or {}).get("sender_item_id", ""))
        if sender_item_id.isdigit():
            by_id[int(sender_item_id)] = item
    paypal_ids = Payout.objects.filter(
        pk__in=list(by_id), method=PayoutAccount.Method.PAYPAL
    ).values_list("pk", flat=True)
    outcomes = {
        pk: Outcome(
            status="SUCCESS", provider_id=by_id[pk].get("payout_item_id", ""), response=by_id[pk]
        )
        for pk in paypal_ids
    }
    move_payouts(ids=list(outcomes), to=S.PAID, now=now, cause=cause, outcomes=outcomes)


def apply_paypal_item(*, item: dict, now: datetime, source: str = "apply_paypal_item") -> str:
    """One PayPal payout item's result → our payout. An upsert of state: applying the same
    item twice, or an older status after a final one, changes nothing."""
    return _apply_item(item=item, now=now, cause=Cause(source))


def _apply_item(*, item: dict, now: datetime, cause: Cause) -> str:
    sender_item_id = str((item.get("payout_item") or {}).get("sender_item_id", ""))
    if not sender_item_id.isdigit():
        return ""
    payout = Payout.objects.filter(
        pk=int(sender_item_id), method=PayoutAccount.Method.PAYPAL
    ).first()
    if payout is None:
        return ""
    status = (item.get("transaction_status") or "").upper()
    outcome = Outcome(status=status, provider_id=item.get("payout_item_id", ""), response=item)
    if status == "SUCCESS":
        move_payouts(ids=[payout.pk], to=S.PAID, now=now, cause=cause, outcome=outcome)
    elif status in PAYPAL_FAILED:
        failed = replace(outcome, reason=_paypal_failure_reason(status, item.get("errors") or {}))
        move_payouts(ids=[payout.pk], to=S.FAILED, now=now, cause=cause, outcome=failed)
    elif status in PAYPAL_WAITING:
        # Still open at PayPal: an `unknown` payout is known again (sending); a sending one
        # keeps its state and takes the news.
        move_payouts(
            ids=[payout.pk],
            to=S.SENDING,
            now=now,
            cause=cause,
            only_from=[S.UNKNOWN],
            outcome=outcome,
        )
        note_outcome(payout_id=payout.pk, outcome=outcome, states=[S.SENDING], now=now, cause=cause)
        if status == "UNCLAIMED" and payout.provider_status != "UNCLAIMED":
            queue.enqueue_on_commit("payouts.notify_payout", payout_id=payout.pk)
    if payout.paypal_batch_id:
        close_batch_if_final(batch_id=payout.paypal_batch_id, now=now)
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
