"""Referral summaries (Referral.stat_*): what the dashboard's referral list sorts and
filters on. Like the daily money rollups, the commissions app marks the referrals whose
money or subscription changed (mark_referrals_due, in its own transaction) and has them
recomputed (refresh_due_referral_stats) with a callback it supplies, since tracking must
not import it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from tracking.models import Referral, ReferralStatDue

PAYING = "paying"


@dataclass(frozen=True)
class ReferralSummary:
    referral_id: int
    status: str  # "signed_up" / "paying" / "churned"
    plan: str
    first_paid_at: datetime | None
    last_paid_at: datetime | None
    paying_until: datetime | None
    revenue: int  # minor units of the program currency
    commission: int


# A `compute` callback of refresh_due_referral_stats: the summaries of the given referrals.
SummaryRows = Callable[[set[int]], list[ReferralSummary]]

# Arbitrary constant naming the PostgreSQL advisory lock of the summary refresh.
REFERRAL_STATS_LOCK_KEY = 7_411_020_004  # ledger_rollups.SWEEP_LOCK_KEY is …003

FIELDS = {
    "stat_status": "status",
    "stat_plan": "plan",
    "stat_first_paid_at": "first_paid_at",
    "stat_last_paid_at": "last_paid_at",
    "stat_paying_until": "paying_until",
    "stat_revenue": "revenue",
    "stat_commission": "commission",
}


def mark_referrals_due(*, referral_ids: Iterable[int | None]) -> int:
    """Mark referrals whose summary changed, in the caller's transaction (the mark commits
    or rolls back with the change). None is ignored."""
    ids = sorted({pk for pk in referral_ids if pk is not None})
    ReferralStatDue.objects.bulk_create(
        [ReferralStatDue(referral_id=pk) for pk in ids], batch_size=1000
    )
    return len(ids)


def set_referral_stats(*, rows: Iterable[ReferralSummary]) -> int:
    """Write the summaries: only the stat_* columns (the referral's own are left alone)."""
    objs = []
    for row in rows:
        obj = Referral(pk=row.referral_id)
        for column, attr in FIELDS.items():
            setattr(obj, column, getattr(row, attr))
        objs.append(obj)
    Referral.objects.bulk_update(objs, fields=list(FIELDS), batch_size=500)
    return len(objs)


def refresh_due_referral_stats(
    *, compute: SummaryRows, now: datetime, limit: int = 1000
) -> tuple[int, bool]:
    """Recompute up to `limit` marked referrals, and up to `limit` whose "paying" lapsed by
    `now` (no payment within the window), in one transaction; clear exactly the marks read
    (one committed meanwhile stays for the next run, as in refresh_due_daily_money). Runs
    are serialised (PostgreSQL advisory lock; SQLite has one writer). Returns (referrals
    written, more may be waiting)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [REFERRAL_STATS_LOCK_KEY])
                if not cursor.fetchone()[0]:
                    return 0, False  # another run is at it; what it misses stays marked
        marks = list(
            ReferralStatDue.objects.order_by("pk").values_list("pk", "referral_id")[:limit]
        )
        lapsed = list(
            Referral.objects.filter(stat_status=PAYING, stat_paying_until__lt=now)
            .order_by("stat_paying_until")
            .values_list("pk", flat=True)[:limit]
        )
        ids = {referral_id for _, referral_id in marks} | set(lapsed)
        if not ids:
            return 0, False
        written = set_referral_stats(rows=compute(ids))
        mark_ids = [pk for pk, _ in marks]
        for i in range(0, len(mark_ids), 1000):
            ReferralStatDue.objects.filter(pk__in=mark_ids[i : i + 1000]).delete()
        return written, len(marks) == limit or len(lapsed) == limit
