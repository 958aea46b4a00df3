"""Every write to the ledger and to payments."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

from commissions.models import CommissionEntry

_STATE_TIMESTAMP = {
    CommissionEntry.State.APPROVED: "approved_at",
    CommissionEntry.State.DECLINED: "declined_at",
    CommissionEntry.State.IN_PAYOUT: "in_payout_at",
    CommissionEntry.State.PAID: "paid_at",
}


def move_entries(
    *, entry_ids: Iterable[int], from_state: str, to_state: str, now: datetime, note: str = ""
) -> int:
    """Compare-and-set state move for many entries: only rows still in `from_state` move.
    Returns how many moved; callers that need all-or-nothing compare it to len(entry_ids)."""
    if to_state not in CommissionEntry.TRANSITIONS.get(from_state, set()):
        raise ValueError(f"Commission entries cannot move from {from_state} to {to_state}.")
    ids = list(entry_ids)
    if not ids:
        return 0
    update = {"state": to_state, _STATE_TIMESTAMP[to_state]: now}
    if note:
        update["state_note"] = note[:200]
    with transaction.atomic():
        return CommissionEntry.objects.filter(pk__in=ids, state=from_state).update(**update)
