"""Sending through Stripe Connect: one transfer per payout under the payout's stored
idempotency key (looked up by transfer_group first after an earlier attempt), and a
transfer's reversal recorded for the admin."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q

from payouts.gateways import base, registry
from payouts.gateways.base import PermanentError, TransientError
from payouts.models import Payout, PayoutAccount, PayoutRun
from payouts.services.history import Cause, Kind, append, audit, event, jsonable
from payouts.services.transitions import Outcome, move_payouts

log = logging.getLogger(__name__)
S = Payout.State


def send_stripe_payout(
    *,
    payout_id: int,
    now: datetime,
    client: base.StripeConnect | None = None,
    source: str = "send_stripe_payout",
) -> str:
    """One Stripe Connect transfer. The stored idempotency key is reused on every attempt,
    and a payout that was attempted before (sending / unknown: the worker may have died
    after Stripe accepted) is first looked up by its transfer_group — Stripe prunes keys
    after 24 h, so our own record and that lookup are the durable guard."""
    cause = Cause(source)
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update().select_related("run", "affiliate").get(pk=payout_id)
        )
        if (
            payout.method != PayoutAccount.Method.STRIPE
            or payout.run.state != PayoutRun.State.APPROVED
        ):
            return payout.state
        attempted_before = payout.state != S.PENDING or payout.attempts > 0
        # A payout already sending (the worker died mid-call) is sent again as it is.
        if payout.state != S.SENDING and not move_payouts(
            ids=[payout.pk], to=S.SENDING, now=now, cause=cause
        ):
            return payout.state
        Payout.objects.filter(pk=payout.pk).update(attempts=F("attempts") + 1)
        group = f"payout-{payout.pk}"
        metadata = {"payout_id": str(payout.pk), "affiliate": payout.affiliate.public_id}
        request = {
            "amount": payout.amount,
            "currency": payout.currency,
            "destination": payout.destination,
            "transfer_group": group,
            "metadata": metadata,
        }
        # What this attempt will ask Stripe, committed before it asks: a look-up by
        # transfer_group first when it was attempted before, then the transfer.
        sent = {"find_transfers": {"transfer_group": group}} if attempted_before else {}
        append(
            [
                event(
                    payout_id=payout.pk,
                    kind=Kind.PROVIDER_CALL,
                    cause=cause,
                    now=now,
                    idempotency_key=payout.idempotency_key,
                    sent={**sent, "create_transfer": request},
                )
            ]
        )
    client = client or registry.get_stripe_connect()
    try:
        if attempted_before:
            found = [
                t
                for t in client.find_transfers(transfer_group=group)
                if str((t.get("metadata") or {}).get("payout_id")) == str(payout.pk)
            ]
            if found:
                _paid(payout.pk, transfer=found[-1], now=now, cause=cause)
                return S.PAID
        transfer = client.create_transfer(
            amount=payout.amount,
            currency=payout.currency,
            destination=payout.destination,
            transfer_group=group,
            metadata=metadata,
            idempotency_key=payout.idempotency_key,
        )
    except TransientError as exc:
        move_payouts(
            ids=[payout.pk], to=S.UNKNOWN, now=now, cause=cause, outcome=Outcome(reason=exc.message)
        )
        log.warning("Stripe payout %s: outcome unknown (%s); will reconcile", payout.pk, exc)
        raise
    except PermanentError as exc:
        move_payouts(
            ids=[payout.pk],
            to=S.FAILED,
            now=now,
            cause=cause,
            outcome=Outcome(
                reason=f"Stripe refused the transfer: {exc.message}",
                response={"error": jsonable(exc.response)},
            ),
        )
        return S.FAILED
    # A Connect transfer lands in the connected account's Stripe balance at once.
    _paid(payout.pk, transfer=transfer, now=now, cause=cause)
    return S.PAID


def _paid(payout_id: int, *, transfer: dict, now: datetime, cause: Cause) -> None:
    outcome = Outcome(status="transfer", provider_id=transfer["id"], response=transfer)
    move_payouts(ids=[payout_id], to=S.PAID, now=now, cause=cause, outcome=outcome)


def record_transfer_reversed(
    *, transfer: dict, now: datetime, source: str = "stripe: transfer.reversed"
) -> bool:
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
    amount_reversed = int(transfer.get("amount_reversed") or 0)
    with transaction.atomic():
        Payout.objects.filter(pk=payout.pk).update(
            reversed_amount=amount_reversed, provider_status="reversed"
        )
        append(
            [
                event(
                    payout_id=payout.pk,
                    kind=Kind.WEBHOOK,
                    cause=Cause(source),
                    now=now,
                    received=transfer,
                    provider_status="reversed",
                    provider_reference=transfer.get("id", ""),
                )
            ]
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
