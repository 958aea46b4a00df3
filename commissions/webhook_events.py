"""The ledger's outbound webhook events (payloads in README "Outbound webhooks"), written to
the outbox by webhooks.services in the caller's transaction.

- `commission.created`: one per entry actually written (clawbacks too, negative), keyed by
  the entry id, so an entry offered again (ignored as a duplicate) sends nothing more.
- `commission.approved`: the approval job moves up to a million entries set-based in
  batches, so it is not one event per entry: one per affiliate per run of the job, with
  the count and the totals per currency of the entries that run approved (each entry is
  approved by exactly one run: compare-and-set). It is written when the run ends, after its
  batches committed; a run that dies midway sends no summary for the batches it committed.
- `prize.awarded`: one per prize won (commissions.services.prizes), keyed by month, contest
  and rank, so a month is announced once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from commissions.models import CommissionEntry, PrizeAward
from webhooks import services as webhooks


def emit_entries_created(entries: Sequence[CommissionEntry]) -> None:
    if not entries or not webhooks.subscribed("commission.created"):
        return
    # bulk_create(ignore_conflicts) sets no ids: read the rows back by their natural key.
    match = Q()
    for e in entries:
        # created_at too: a row already there from an earlier write is not news again.
        match |= Q(
            source_type=e.source_type,
            source_id=e.source_id,
            kind=e.kind,
            affiliate_id=e.affiliate_id,
            created_at=e.created_at,
        )
    rows = CommissionEntry.objects.filter(match).values(
        "id", "affiliate_id", "kind", "amount", "currency", "state", "source_type", "source_id"
    )
    events = [
        webhooks.Event(
            "commission.created",
            {"commission": {**row, "source_id": str(row["source_id"])}},
            key=f"commission.created:{row['id']}",
        )
        for row in rows
    ]
    now = max(e.created_at for e in entries)
    webhooks.emit_many(events=events, now=now)


class ApprovedTally:
    """Counts and totals per affiliate and currency of the entries one approval run moved
    (rows of `id, affiliate_id, amount, currency`). Idle when no endpoint subscribes, so the
    job pays nothing for it then."""

    def __init__(self) -> None:
        self.active = webhooks.subscribed("commission.approved")
        self.by_affiliate: dict[int, dict[str, list[int]]] = {}

    def add(self, rows: Iterable[tuple[int, int, int, str]]) -> None:
        if not self.active:
            return
        by = self.by_affiliate
        for _id, affiliate_id, amount, currency in rows:
            tally = by.setdefault(affiliate_id, {}).setdefault(currency, [0, 0])
            tally[0] += 1
            tally[1] += amount

    def emit(self, *, now: datetime) -> None:
        if not self.by_affiliate:
            return
        events = [
            webhooks.Event(
                "commission.approved",
                {
                    "affiliate_id": affiliate_id,
                    "count": sum(c for c, _ in totals.values()),
                    "totals": [
                        {"currency": cur, "count": c, "amount": a}
                        for cur, (c, a) in sorted(totals.items())
                    ],
                    "approved_at": now.isoformat(),
                },
            )
            for affiliate_id, totals in sorted(self.by_affiliate.items())
        ]
        with transaction.atomic():
            webhooks.emit_many(events=events, now=now)


def emit_prizes_awarded(*, awards: Sequence[PrizeAward], now: datetime) -> None:
    """`prize.awarded`: one per prize won, keyed by its (month, contest, rank), written in
    the award's transaction (README "Monthly prizes")."""
    if not awards or not webhooks.subscribed("prize.awarded"):
        return
    events = [
        webhooks.Event(
            "prize.awarded",
            {
                "prize": {
                    "month": f"{a.month:%Y-%m}",
                    "contest": a.contest,
                    "rank": a.rank,
                    "affiliate_id": a.affiliate_id,
                    "amount": a.amount,
                    "currency": a.currency,
                    "revenue": a.revenue,
                    "awarded_at": a.awarded_at.isoformat(),
                }
            },
            key=f"prize.awarded:{a.month:%Y-%m}:{a.contest}:{a.rank}",
        )
        for a in awards
    ]
    webhooks.emit_many(events=events, now=now)
