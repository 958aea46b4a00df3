"""A payout settled outside the senders: marked paid by a caller that knows it was paid
(mark_payout_paid), or by an admin who checked outside — a bank transfer made, a PayPal
payment found (mark_paid_manually) or not there (fail_unknown_payouts). The state changes
themselves are services.transitions.move_payouts, which the senders in services.paypal and
services.stripe_connect call directly."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.db import transaction

from config.errors import ServiceError
from payouts.models import Payout
from payouts.services.history import Cause, audit
from payouts.services.transitions import Outcome, close_batch_if_final, move_payouts

S = Payout.State


def mark_payout_paid(
    *,
    payout_id: int,
    now: datetime,
    provider_id: str = "",
    provider_status: str = "",
    response: dict | None = None,
    reference: str = "",
    source: str = "mark_payout_paid",
) -> bool:
    """Paid (compare-and-set); its entries in_payout → paid in the same transaction."""
    outcome = Outcome(
        status=provider_status, provider_id=provider_id, response=response, reference=reference
    )
    return bool(
        move_payouts(ids=[payout_id], to=S.PAID, now=now, cause=Cause(source), outcome=outcome)
    )


def mark_paid_manually(
    *, payout_ids: Iterable[int], reference: str, actor: Any, now: datetime
) -> int:
    """The admin paid these outside (bank transfer from the CSV export); also how a person
    resolves an `unknown` payout found paid at the provider."""
    if not reference.strip():
        raise ServiceError("A payment reference is required.", fields={"reference": ["Required."]})

    def details(payout: Payout) -> dict[str, Any]:
        # The money went to the payout's snapshot (the CSV export shows it), not to whatever
        # the account says now; the audit records which snapshot that was (by its time, not
        # its content: Support reads the audit log, not destinations).
        return {
            "reference": reference,
            "method": payout.method,
            "destination_as_at": payout.created_at.isoformat(),
        }

    return _settle_by_hand(
        payout_ids=payout_ids,
        to=S.PAID,
        only_from=None,
        outcome=Outcome(reference=reference.strip()),
        action="payout_marked_paid",
        details=details,
        cause=Cause.of("admin: mark paid manually", actor),
        now=now,
    )


def fail_unknown_payouts(
    *, payout_ids: Iterable[int], reason: str, actor: Any, now: datetime
) -> int:
    """A person checked the provider and found that these `unknown` payouts were not paid
    (e.g. a PayPal duplicate whose original could not be read): fail them, so their entries
    go back to approved for the next run. Only `unknown` ones: a payout still sending is
    the sweeper's, and one that reached a result has it."""
    if not reason.strip():
        raise ServiceError(
            "Say what the provider showed (the reason is audited).",
            fields={"reference": ["Required."]},
        )
    return _settle_by_hand(
        payout_ids=payout_ids,
        to=S.FAILED,
        only_from=[S.UNKNOWN],
        outcome=Outcome(reason=f"Not paid (checked by hand): {reason}"),
        action="payout_failed_by_hand",
        details=lambda payout: {"reason": reason},
        cause=Cause.of("admin: unknown payouts not paid", actor),
        now=now,
    )


def _settle_by_hand(
    *,
    payout_ids: Iterable[int],
    to: str,
    only_from: Iterable[str] | None,
    outcome: Outcome,
    action: str,
    details: Callable[[Payout], dict[str, Any]],
    cause: Cause,
    now: datetime,
) -> int:
    """One payout at a time, each in its own transaction: moved, its PayPal batch closed
    if this was the batch's last open payout (an `unresolved` batch ends once a person
    settled all of it), and audited. Returns how many moved."""
    done = 0
    for payout_id in payout_ids:
        with transaction.atomic():
            if not move_payouts(
                ids=[payout_id], to=to, now=now, cause=cause, only_from=only_from, outcome=outcome
            ):
                continue
            payout = Payout.objects.select_related("affiliate").get(pk=payout_id)
            if payout.paypal_batch_id:
                close_batch_if_final(batch_id=payout.paypal_batch_id, now=now)
            audit(
                action=action,
                affiliate=payout.affiliate,
                actor=cause.actor,
                now=now,
                payout=payout_id,
                **details(payout),
            )
            done += 1
    return done
