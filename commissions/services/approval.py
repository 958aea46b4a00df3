"""The approval job: pending entries whose hold has ended become approved (or declined,
when their payment was fully refunded or lost a dispute), set-based and by compare-and-set,
and their affiliates are told by e-mail."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from django.db import connection, transaction

from affiliates.models import Affiliate
from commissions import ledger_rollups, referral_stats, rollups
from commissions.models import CommissionEntry, Payment
from commissions.services.ledger import check_move
from commissions.webhook_events import ApprovedTally
from config.emails import send_to_affiliate

State = CommissionEntry.State


@dataclass
class ApprovalResult:
    approved: int = 0
    declined: int = 0
    batches: int = 0
    more: bool = False
    affiliate_ids: set[int] = field(default_factory=set)


class Moved(NamedTuple):
    """One entry the approval moved: the columns _DUE_SQL's RETURNING names, in its order."""

    id: int
    affiliate_id: int
    amount: int
    currency: str
    earned_on: date


_DUE_SQL = """
UPDATE {entry} SET state = %s, {stamp} = %s{note}
WHERE state = 'pending' AND id IN (
    SELECT e.id FROM {entry} e LEFT JOIN {payment} p ON p.id = e.payment_id
    WHERE e.state = 'pending' AND e.approve_after <= %s AND e.id > %s
      AND (p.id IS NULL OR p.dispute_state <> 'open')
      AND {refunded}(p.id IS NOT NULL AND p.amount > 0 AND p.refunded_amount >= p.amount)
    ORDER BY e.id
    LIMIT %s
)
RETURNING id, affiliate_id, amount, currency, earned_on
"""


def approve_due_commissions(
    *,
    now: datetime,
    batch_size: int = 10_000,
    max_batches: int | None = None,
    notify: bool = True,
) -> ApprovalResult:
    """Pending entries whose hold ended at or before `now` (a fixed cutoff for the whole
    run) become approved; those whose payment was fully refunded or lost a dispute become
    declined (a safety net: refunds decline at once); those whose payment has an open
    dispute stay pending (frozen).

    Set-based: each batch is one UPDATE … WHERE id IN (the next `batch_size` due ids after
    the last one seen) RETURNING id — no ids travel to Python and back, and the keyset
    keeps each batch off the rows already moved. The outer `state = 'pending'` makes it a
    compare-and-set, so running twice, or twice at once (PostgreSQL re-checks the row after
    the other run's commit), moves each entry once. `max_batches` lets the task stop and
    re-enqueue itself with the same cutoff."""
    result = ApprovalResult()
    tally = ApprovedTally()  # commission.approved per affiliate per run (webhook_events)
    tables = {
        "entry": CommissionEntry._meta.db_table,
        "payment": Payment._meta.db_table,
    }
    passes = (
        # (to_state, note, refunded?)
        (State.DECLINED, ", state_note = 'declined: refunded'", ""),
        (State.APPROVED, "", "NOT "),
    )
    for to_state, note, refunded in passes:
        # The SQL's from-state is pending (as in the partial index entry_pending_due); the
        # move and its milestone column come from the model's tables, as for move_entries.
        stamp = check_move(from_state=State.PENDING, to_state=to_state)
        sql = _DUE_SQL.format(stamp=stamp, note=note, refunded=refunded, **tables)
        last_pk = 0
        while max_batches is None or result.batches < max_batches:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [to_state, now, now, last_pk, batch_size])
                moved = [Moved._make(row) for row in cursor.fetchall()]
                ledger_rollups.mark_pairs(pairs={(m.affiliate_id, m.earned_on) for m in moved})
                if moved and to_state == State.DECLINED:
                    rollups.mark_entry_ids(entry_ids=[m.id for m in moved])
                    referral_stats.mark_entry_ids(entry_ids=[m.id for m in moved])
            if not moved:
                break
            result.batches += 1
            last_pk = max(m.id for m in moved)
            if to_state == State.APPROVED:
                result.approved += len(moved)
                tally.add((m.id, m.affiliate_id, m.amount, m.currency) for m in moved)
                if notify:
                    result.affiliate_ids.update(m.affiliate_id for m in moved)
            else:
                result.declined += len(moved)
        else:
            result.more = True
    tally.emit(now=now)
    if notify and result.affiliate_ids:
        ids_to_notify = sorted(result.affiliate_ids)
        transaction.on_commit(lambda: _notify_approved(affiliate_ids=ids_to_notify))
    return result


def _notify_approved(*, affiliate_ids: list[int]) -> None:
    # A news e-mail: only to affiliates who left it on (settings page), each in its language
    # (config.emails skips the rest); one message each, affiliates never see each other.
    affiliates = Affiliate.objects.filter(
        pk__in=affiliate_ids, email_commission_approved=True
    ).select_related("user")
    for affiliate in affiliates:
        send_to_affiliate("commissions_approved", affiliate=affiliate, context={})
