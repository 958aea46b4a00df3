"""Every state change of a payout, a PayPal batch and a payout run: one helper per model,
reading that model's TRANSITIONS table.

A move is compare-and-set: `filter(pk__in=…, state__in=<the states `to` may be reached
from>).update(state=to, …)`, so a row another worker moved first is left alone, and its
side effects (the ledger entries, the affiliate's e-mail, the run's completion) happen only
for the rows that moved, in the same transaction. Callers never write `state=` themselves.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from commissions.models import CommissionEntry
from commissions.services import move_entries
from config import queue
from config.errors import Conflict
from payouts.models import Payout, PayoutItem, PayoutRun, PayPalBatch
from payouts.services.history import Cause, Kind, append, event
from payouts.webhook_events import emit_payouts_final

S = Payout.State
E = CommissionEntry.State
# No way out of these (paid, failed): a run whose payouts are all final is complete.
FINAL_STATES = frozenset(s for s in S.values if not Payout.TRANSITIONS.get(s))
# Payouts a PayPal batch still waits for (awaiting approval is before the batch is sent).
OPEN_STATES = (S.PENDING, S.SENDING, S.UNKNOWN)
# SQLite caps bound parameters per statement; 5,000 ids per UPDATE stays well under it.
CHUNK = 5000


Stateful = type[Payout] | type[PayPalBatch] | type[PayoutRun]


def sources(model: Stateful, to: str) -> set[str]:
    """The states `model` may move to `to` from, by its TRANSITIONS table."""
    return {state for state, targets in model.TRANSITIONS.items() if to in targets}


def _allowed(model: Stateful, to: str, only_from: Iterable[str] | None) -> list[str]:
    allowed = sources(model, to)
    if not allowed:
        raise ValueError(f"No {model.__name__} may move to {to}.")
    if only_from is not None:
        allowed &= set(only_from)
    return sorted(allowed)


@dataclass(frozen=True)
class Outcome:
    """What a provider (or a person) said about a payout; stored on the payout row."""

    status: str = ""  # the provider's status → provider_status
    provider_id: str = ""  # PayPal payout item / Stripe transfer id → provider_id
    response: Any = None  # the provider's answer (JSON) → provider_response
    reason: str = ""  # why it failed or is unknown → failure_reason
    reference: str = ""  # a manual payment's reference → reference
    error: str = ""  # the provider's error text: kept in the payout's history only

    def fields(self) -> dict[str, Any]:
        """Only what was said: an empty value leaves the column as it is."""
        out: dict[str, Any] = {}
        if self.status:
            out["provider_status"] = self.status
        if self.provider_id:
            out["provider_id"] = self.provider_id
        if self.response is not None:
            out["provider_response"] = self.response
        if self.reason:
            out["failure_reason"] = self.reason[:300]
        if self.reference:
            out["reference"] = self.reference[:200]
        return out

    def event_fields(self) -> dict[str, Any]:
        """The same, as the payout's history records it."""
        return {
            "provider_status": self.status,
            "provider_reference": self.provider_id or self.reference,
            "received": self.response,
            "error": "; ".join(e for e in (self.reason, self.error) if e),
        }


NOTHING = Outcome()


def move_entries_in_chunks(
    entry_ids: list[int], *, from_state: str, to_state: str, now: datetime, note: str = ""
) -> int:
    return sum(
        move_entries(
            entry_ids=entry_ids[i : i + CHUNK],
            from_state=from_state,
            to_state=to_state,
            now=now,
            note=note,
        )
        for i in range(0, len(entry_ids), CHUNK)
    )


def move_payouts(
    *,
    ids: Iterable[int],
    to: str,
    now: datetime,
    cause: Cause,
    only_from: Iterable[str] | None = None,
    outcome: Outcome = NOTHING,
    outcomes: Mapping[int, Outcome] | None = None,
    fields: Mapping[str, Any] | None = None,
) -> list[int]:
    """Move the payouts `ids` that may go to `to` (narrowed by `only_from`); return the ids
    that moved. `outcome` is stored on every moved row, `outcomes` per row (a poll's items).

    The rows are locked first, in id order, so the UPDATE's rowcount must be theirs: a
    mismatch is a Conflict (rolled back). Then, for the moved rows only:
    - a state_changed PayoutEvent each, saying what caused it;
    - paid: the live items' entries in_payout → paid;
    - failed: the items stop being live and their entries go back to approved (the next
      run pays them);
    - paid or failed: the affiliate is e-mailed (a task, after commit) and each run whose
      payouts are now all final is completed."""
    allowed = _allowed(Payout, to, only_from)
    with transaction.atomic():
        rows = list(
            Payout.objects.select_for_update()
            .filter(pk__in=list(ids), state__in=allowed)
            .order_by("pk")
            .values_list("pk", "run_id", "state")
        )
        if not rows:
            return []
        moved_ids = [pk for pk, _, _ in rows]
        update: dict[str, Any] = {"state": to, **outcome.fields(), **(fields or {})}
        if to == S.PAID:
            update["paid_at"] = now
        elif to == S.FAILED:
            update["failed_at"] = now
        moved = Payout.objects.filter(pk__in=moved_ids, state__in=allowed).update(**update)
        if moved != len(moved_ids):
            raise Conflict(f"Only {moved} of {len(moved_ids)} locked payouts moved to {to}.")
        if outcomes:
            _store_outcomes({pk: outcomes[pk] for pk in moved_ids if pk in outcomes})
        append(
            event(
                payout_id=pk,
                kind=Kind.STATE_CHANGED,
                cause=cause,
                now=now,
                from_state=from_state,
                to_state=to,
                **(outcomes or {}).get(pk, outcome).event_fields(),
            )
            for pk, _, from_state in rows
        )
        if to == S.PAID:
            _pay_entries(moved_ids, now=now)
        elif to == S.FAILED:
            for payout_id in moved_ids:
                _return_entries(payout_id, now=now)
        if to in FINAL_STATES:
            for payout_id in moved_ids:
                queue.enqueue_on_commit("payouts.notify_payout", payout_id=payout_id)
            complete_runs_if_final(run_ids={run_id for _, run_id, _ in rows}, now=now)
            emit_payouts_final(payout_ids=moved_ids, state=to, now=now)
    return moved_ids


def note_outcome(
    *, payout_id: int, outcome: Outcome, states: Collection[str], now: datetime, cause: Cause
) -> bool:
    """A provider's answer that changes no state (PayPal: still pending, unclaimed…),
    stored if the payout is still in one of `states`; a new provider status is also a
    provider_answer row in its history (the same status again, poll after poll, is not)."""
    with transaction.atomic():
        row = (
            Payout.objects.select_for_update()
            .filter(pk=payout_id, state__in=list(states))
            .values_list("provider_status", flat=True)
            .first()
        )
        if row is None:
            return False
        Payout.objects.filter(pk=payout_id).update(**outcome.fields())
        if outcome.status and outcome.status != row:
            append(
                [
                    event(
                        payout_id=payout_id,
                        kind=Kind.PROVIDER_ANSWER,
                        cause=cause,
                        now=now,
                        **outcome.event_fields(),
                    )
                ]
            )
    return True


def _store_outcomes(outcomes: Mapping[int, Outcome]) -> None:
    # Grouped by the columns each outcome names, so a column an outcome leaves out is kept.
    groups: dict[tuple[str, ...], list[Payout]] = {}
    for pk, outcome in outcomes.items():
        values = outcome.fields()
        payout = Payout(pk=pk)
        for name, value in values.items():
            setattr(payout, name, value)
        groups.setdefault(tuple(sorted(values)), []).append(payout)
    for names, payouts in groups.items():
        if names:
            Payout.objects.bulk_update(payouts, list(names), batch_size=1000)


def _pay_entries(payout_ids: list[int], *, now: datetime) -> None:
    entry_ids = list(
        PayoutItem.objects.filter(payout_id__in=payout_ids, live=True).values_list(
            "entry_id", flat=True
        )
    )
    moved = move_entries_in_chunks(entry_ids, from_state=E.IN_PAYOUT, to_state=E.PAID, now=now)
    if moved != len(entry_ids):
        raise Conflict(f"Only {moved}/{len(entry_ids)} entries of paid payouts were in payout.")


def _return_entries(payout_id: int, *, now: datetime) -> None:
    items = PayoutItem.objects.filter(payout_id=payout_id, live=True)
    entry_ids = list(items.values_list("entry_id", flat=True))
    items.update(live=False)
    moved = move_entries_in_chunks(
        entry_ids,
        from_state=E.IN_PAYOUT,
        to_state=E.APPROVED,
        now=now,
        note=f"payout {payout_id} failed",
    )
    if moved != len(entry_ids):
        raise Conflict(f"Payout {payout_id}: only {moved}/{len(entry_ids)} entries were in payout.")


# --- PayPal batches -----------------------------------------------------------------------


def move_batch(
    *,
    batch_id: int,
    to: str,
    now: datetime,
    only_from: Iterable[str] | None = None,
    fields: Mapping[str, Any] | None = None,
) -> bool:
    """Compare-and-set one PayPal batch to `to`; whether it moved."""
    allowed = _allowed(PayPalBatch, to, only_from)
    update: dict[str, Any] = {"state": to, **(fields or {})}
    if to == PayPalBatch.State.SENT:
        update["sent_at"] = now
    return bool(PayPalBatch.objects.filter(pk=batch_id, state__in=allowed).update(**update))


def close_batch_if_final(*, batch_id: int, now: datetime) -> bool:
    """A batch is `done` once none of its payouts is open (a refused batch stays failed)."""
    if Payout.objects.filter(paypal_batch_id=batch_id, state__in=OPEN_STATES).exists():
        return False
    return move_batch(batch_id=batch_id, to=PayPalBatch.State.DONE, now=now)


# --- Payout runs ------------------------------------------------------------------------


def move_run(
    *, run_id: int, to: str, now: datetime, fields: Mapping[str, Any] | None = None
) -> bool:
    """Compare-and-set one payout run to `to`; whether it moved."""
    allowed = _allowed(PayoutRun, to, None)
    update: dict[str, Any] = {"state": to, **(fields or {})}
    if to == PayoutRun.State.APPROVED:
        update["approved_at"] = now
    elif to == PayoutRun.State.COMPLETED:
        update["completed_at"] = now
    return bool(PayoutRun.objects.filter(pk=run_id, state__in=allowed).update(**update))


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
        if run is None or run.payouts.exclude(state__in=FINAL_STATES).exists():
            continue
        move_run(run_id=run_id, to=PayoutRun.State.COMPLETED, now=now)
