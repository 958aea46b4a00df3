"""What becomes of a payout: paid, failed, settled by hand by an admin; a run completes when its last payout is final."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction

from commissions.models import CommissionEntry
from commissions.services import move_entries
from config import queue
from config.errors import Conflict, ServiceError
from payouts.models import Payout, PayoutItem, PayoutRun, PayPalBatch
from payouts.services.history import audit

S = Payout.State
E = CommissionEntry.State


def move_entries_in_chunks(
    entry_ids: list[int], *, from_state: str, to_state: str, now: datetime, note: str = ""
) -> int:
    # SQLite caps bound parameters per statement; 5,000 ids per UPDATE stays well under it.
    return sum(
        move_entries(
            entry_ids=entry_ids[i : i + 5000],
            from_state=from_state,
            to_state=to_state,
            now=now,
            note=note,
        )
        for i in range(0, len(entry_ids), 5000)
    )


FINAL_STATES = (S.PAID, S.FAILED)


def complete_runs_if_final(*, run_ids: Iterable[int], now: datetime) -> None:
    """A run is `completed` once every payout in it is final (paid or failed); called in
    the transaction that made a payout final. The run row is locked first: two payouts of
    one run finishing at once in two transactions would each still see the other open
    (READ COMMITTED) and neither would complete the run; with the lock the second one
    waits, then reads the first one's commit. (SQLite has one writer at a time anyway.)"""
    for run_id in sorted(set(run_ids)):
        run = (
            PayoutRun.objects.select_for_update()
            .filter(pk=run_id, state=PayoutRun.State.APPROVED)
            .first()
        )
        if run is None:
            continue
        if run.payouts.exclude(state__in=FINAL_STATES).exists():
            continue
        PayoutRun.objects.filter(pk=run_id, state=PayoutRun.State.APPROVED).update(
            state=PayoutRun.State.COMPLETED, completed_at=now
        )


def mark_payout_paid(
    *,
    payout_id: int,
    now: datetime,
    provider_id: str = "",
    provider_status: str = "",
    response: dict | None = None,
    reference: str = "",
    from_states: Iterable[str] = (S.PENDING, S.SENDING, S.UNKNOWN),
) -> bool:
    """Compare-and-set to paid; its entries in_payout → paid in the same transaction."""
    with transaction.atomic():
        update: dict[str, Any] = {"state": S.PAID, "paid_at": now}
        if provider_id:
            update["provider_id"] = provider_id
        if provider_status:
            update["provider_status"] = provider_status
        if response is not None:
            update["provider_response"] = response
        if reference:
            update["reference"] = reference[:200]
        if not Payout.objects.filter(pk=payout_id, state__in=list(from_states)).update(**update):
            return False
        entry_ids = list(
            PayoutItem.objects.filter(payout_id=payout_id, live=True).values_list(
                "entry_id", flat=True
            )
        )
        moved = move_entries(entry_ids=entry_ids, from_state=E.IN_PAYOUT, to_state=E.PAID, now=now)
        if moved != len(entry_ids):
            raise Conflict(
                f"Payout {payout_id}: only {moved}/{len(entry_ids)} entries were in payout."
            )
        queue.enqueue_on_commit("payouts.notify_payout", payout_id=payout_id)
        complete_runs_if_final(
            run_ids=Payout.objects.filter(pk=payout_id).values_list("run_id", flat=True), now=now
        )
    return True


def fail_payout(
    *,
    payout_id: int,
    now: datetime,
    reason: str,
    provider_status: str = "",
    response: dict | None = None,
) -> bool:
    """Compare-and-set to failed; the items stop being live and the entries go back to
    approved in the same transaction, so the next run pays them."""
    with transaction.atomic():
        update: dict[str, Any] = {
            "state": S.FAILED,
            "failed_at": now,
            "failure_reason": reason[:300],
        }
        if provider_status:
            update["provider_status"] = provider_status
        if response is not None:
            update["provider_response"] = response
        live = [S.AWAITING_APPROVAL, S.PENDING, S.SENDING, S.UNKNOWN]
        if not Payout.objects.filter(pk=payout_id, state__in=live).update(**update):
            return False
        items = PayoutItem.objects.filter(payout_id=payout_id, live=True)
        entry_ids = list(items.values_list("entry_id", flat=True))
        items.update(live=False)
        moved = move_entries(
            entry_ids=entry_ids,
            from_state=E.IN_PAYOUT,
            to_state=E.APPROVED,
            now=now,
            note=f"payout {payout_id} failed",
        )
        if moved != len(entry_ids):
            raise Conflict(
                f"Payout {payout_id}: only {moved}/{len(entry_ids)} entries were in payout."
            )
        queue.enqueue_on_commit("payouts.notify_payout", payout_id=payout_id)
        complete_runs_if_final(
            run_ids=Payout.objects.filter(pk=payout_id).values_list("run_id", flat=True), now=now
        )
    return True


def mark_paid_manually(
    *, payout_ids: Iterable[int], reference: str, actor: Any, now: datetime
) -> int:
    """The admin paid these outside (bank transfer from the CSV export)."""
    if not reference.strip():
        raise ServiceError("A payment reference is required.", fields={"reference": ["Required."]})
    done = 0
    for payout_id in payout_ids:
        if mark_payout_paid(
            payout_id=payout_id,
            now=now,
            reference=reference.strip(),
            from_states=(S.PENDING, S.UNKNOWN, S.SENDING),
        ):
            done += 1
            payout = Payout.objects.select_related("affiliate").get(pk=payout_id)
            if payout.paypal_batch_id:  # an `unresolved` batch ends once a person settled all
                close_batch_if_final(payout.paypal_batch_id)
            # The money went to the payout's snapshot (the CSV export shows it), not to
            # whatever the account says now; the audit records which snapshot that was (by
            # its time, not its content: Support reads the audit log, not destinations).
            audit(
                action="payout_marked_paid",
                affiliate=payout.affiliate,
                actor=actor,
                now=now,
                payout=payout_id,
                reference=reference,
                method=payout.method,
                destination_as_at=payout.created_at.isoformat(),
            )
    return done


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
    done = 0
    for payout_id in Payout.objects.filter(pk__in=list(payout_ids), state=S.UNKNOWN).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            if not Payout.objects.filter(pk=payout_id, state=S.UNKNOWN).exists():
                continue
            if not fail_payout(
                payout_id=payout_id, now=now, reason=f"Not paid (checked by hand): {reason}"
            ):
                continue
            payout = Payout.objects.select_related("affiliate").get(pk=payout_id)
            if payout.paypal_batch_id:
                close_batch_if_final(payout.paypal_batch_id)
            audit(
                action="payout_failed_by_hand",
                affiliate=payout.affiliate,
                actor=actor,
                now=now,
                payout=payout_id,
                reason=reason,
            )
            done += 1
    return done


def jsonable(value: Any) -> Any:
    if isinstance(value, dict | list | str | int | float | type(None)):
        return value
    return str(value)


def close_batch_if_final(batch_id: int) -> None:
    open_states = [S.PENDING, S.SENDING, S.UNKNOWN]
    if not Payout.objects.filter(paypal_batch_id=batch_id, state__in=open_states).exists():
        PayPalBatch.objects.filter(pk=batch_id).exclude(state=PayPalBatch.State.FAILED).update(
            state=PayPalBatch.State.DONE
        )
