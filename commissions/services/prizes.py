"""The monthly prizes: for a month that has ended, each contest's winners (by
commissions.prize_selectors.prize_standings) get the budget's places (PrizePlace) as `prize`
ledger entries, approved at once so the payout run of the same day pays them.

Once per month and contest however often it runs: the round row (unique month + contest) is
inserted first in the transaction that writes the awards and entries, so a repeat finds it,
and a concurrent run blocks on the unique index until the first commits, then fails on it
and writes nothing. The entries have their own natural key too (source "prize",
"YYYY-MM:contest:rank").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from commissions.models import CommissionEntry
from commissions.prize_models import Contest, PrizeAward, PrizePlace, PrizeRound, prize_source_id
from commissions.prize_selectors import month_bounds, prize_standings
from commissions.services.ledger import insert_entries, move_entries
from commissions.webhook_events import emit_prizes_awarded
from config.errors import ServiceError

E = CommissionEntry


@dataclass
class ContestResult:
    contest: str
    # "awarded" (this run decided it), "already" (an earlier run did), "waiting" (payments
    # without an exchange rate: run again once the rate is entered).
    outcome: str
    awards: list[PrizeAward] = field(default_factory=list)
    qualifiers: int = 0
    waiting: int = 0


def award_prizes(*, month: date, now: datetime) -> list[ContestResult]:
    """Decide every contest of `month` (its first day) not decided yet. ServiceError for a
    month that has not ended at `now`."""
    month = month.replace(day=1)
    _start, end = month_bounds(month)
    if end > now:
        raise ServiceError(
            f"{month:%Y-%m} has not ended yet; prizes are awarded after the month.",
            code="month_not_over",
        )
    return [_award_contest(month=month, contest=c, now=now) for c in Contest.values]


def _award_contest(*, month: date, contest: str, now: datetime) -> ContestResult:
    if PrizeRound.objects.filter(month=month, contest=contest).exists():
        return ContestResult(contest=contest, outcome="already")
    standings = prize_standings(month=month, contest=contest)
    if standings.waiting:
        return ContestResult(contest=contest, outcome="waiting", waiting=standings.waiting)
    places = list(PrizePlace.objects.filter(contest=contest).order_by("rank"))
    currency = settings.PROGRAM_CURRENCY
    label = Contest(contest).label
    try:
        with transaction.atomic():
            # First: the once-per-month lock (IntegrityError here means another run won).
            prize_round = PrizeRound.objects.create(
                month=month, contest=contest, awarded_at=now, qualifiers=len(standings.rows)
            )
            awards = [
                PrizeAward(
                    round=prize_round,
                    month=month,
                    contest=contest,
                    rank=rank,
                    affiliate_id=standing.affiliate_id,
                    revenue=standing.revenue,
                    first_paid_at=standing.first_paid_at,
                    amount=place.amount,
                    currency=currency,
                    awarded_at=now,
                )
                # Fewer qualifiers than places: the places left are not paid.
                for rank, (place, standing) in enumerate(
                    zip(places, standings.rows, strict=False), start=1
                )
            ]
            PrizeAward.objects.bulk_create(awards)
            entries = [
                E(
                    kind=E.Kind.PRIZE,
                    affiliate_id=a.affiliate_id,
                    amount=a.amount,
                    currency=currency,
                    source_type=E.SourceType.PRIZE,
                    source_id=prize_source_id(month=month, contest=contest, rank=a.rank),
                    rule=f"Prize: {label} {month:%Y-%m}, place {a.rank}",
                    approve_after=now,
                    created_at=now,
                )
                for a in awards
            ]
            insert_entries(entries=entries)
            # Approved at once (no hold): the payout run later that day includes them.
            entry_ids = list(
                E.objects.filter(
                    source_type=E.SourceType.PRIZE,
                    source_id__in=[e.source_id for e in entries],
                    state=E.State.PENDING,
                ).values_list("pk", flat=True)
            )
            move_entries(
                entry_ids=entry_ids,
                from_state=E.State.PENDING,
                to_state=E.State.APPROVED,
                now=now,
                note="Prize: approved when awarded",
            )
            emit_prizes_awarded(awards=awards, now=now)
    except IntegrityError:
        return ContestResult(contest=contest, outcome="already")
    return ContestResult(
        contest=contest, outcome="awarded", awards=awards, qualifiers=len(standings.rows)
    )
