"""Sending through Stripe Connect: one transfer per payout, and a transfer's reversal."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from payouts import providers
from payouts.models import Payout, PayoutAccount, PayoutRun
from payouts.providers import PermanentError, TransientError
from payouts.services.history import audit
from payouts.services.outcomes import fail_payout, jsonable, mark_payout_paid

log = logging.getLogger(__name__)
S = Payout.State


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
