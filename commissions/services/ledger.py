"""The two ways the ledger is written: `insert_entries` appends rows, `move_entries` moves
their state. Every other service (and payouts) writes entries through these.

An entry's money never changes after insert (commissions.querysets, the model's `save()`,
and a trigger on PostgreSQL refuse it); only its state moves, along
CommissionEntry.TRANSITIONS, by compare-and-set, stamping the state's milestone column
(CommissionEntry.STATE_TIMESTAMPS). `check_move` is the one reading of those two tables,
shared with the set-based approval job (commissions.services.approval).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django.db import transaction

from commissions import ledger_rollups, referral_stats, rollups
from commissions.models import CommissionEntry
from commissions.webhook_events import emit_entries_created

State = CommissionEntry.State


def check_move(*, from_state: str, to_state: str) -> str:
    """The milestone column a move from `from_state` to `to_state` stamps; ValueError for a
    move CommissionEntry.TRANSITIONS does not allow."""
    if to_state not in CommissionEntry.TRANSITIONS.get(from_state, set()):
        raise ValueError(f"Commission entries cannot move from {from_state} to {to_state}.")
    return CommissionEntry.STATE_TIMESTAMPS[to_state]


def move_entries(
    *, entry_ids: Iterable[int], from_state: str, to_state: str, now: datetime, note: str = ""
) -> int:
    """Compare-and-set state move for many entries: only rows still in `from_state` move.
    Returns how many moved; callers that need all-or-nothing compare it to len(entry_ids)."""
    stamp = check_move(from_state=from_state, to_state=to_state)
    ids = list(entry_ids)
    if not ids:
        return 0
    update: dict[str, str | datetime] = {"state": to_state, stamp: now}
    if note:
        update["state_note"] = note[:200]
    with transaction.atomic():
        # State columns only: the QuerySet's append-only guard lets exactly these through.
        moved = CommissionEntry.objects.filter(pk__in=ids, state=from_state).update(**update)
        if moved:  # every move changes the state sums of the entries' days (LedgerDay)
            ledger_rollups.mark_entry_ids(entry_ids=ids)
        if moved and to_state == State.DECLINED:
            # A declined entry leaves the commission of its day (commissions.rollups).
            rollups.mark_entry_ids(entry_ids=ids)
            referral_stats.mark_entry_ids(entry_ids=ids)
        return moved


def insert_entries(
    *, entries: list[CommissionEntry], money_days: Iterable[tuple[int | None, date]] = ()
) -> int:
    """Append entries; one already there for its (source, kind, affiliate) is left as it is
    (a recorded commission stays recorded). Returns how many rows were offered.

    Marks the entries' (affiliate, day) rollups due in the same transaction, with
    `money_days` (other days whose money the caller changed), in one INSERT."""
    with transaction.atomic(savepoint=False):
        rollups.mark_entries(entries=entries, also=money_days)
        referral_stats.mark_entries(entries=entries)
        ledger_rollups.stamp_and_mark(entries=entries)
        if not entries:
            return 0
        offered = len(CommissionEntry.objects.bulk_create(entries, ignore_conflicts=True))
        emit_entries_created(entries)
        return offered
