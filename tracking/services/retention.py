"""Clicks that grow without bound: monthly partitions made ahead, old clicks dropped.

On PostgreSQL `tracking_click` is partitioned by month on `at` (migration
0007_click_partitions): `ensure_click_partitions` creates the coming months' partitions
(daily beat job, current + 2 months ahead), and `purge_old_clicks` drops whole partitions
entirely older than the retention cutoff — a DROP TABLE, no row deletes, no bloat. A click
of a month without its own partition (a skewed clock, backdated demo data) lands in the
DEFAULT partition instead of failing the whole flush batch it is in; there the purge deletes
old rows in batches, and making a month's partition moves that month's rows out of it.

On SQLite (and any other engine) the table is plain: the purge deletes old clicks in batches.

What survives the purge: the daily rollups (DailyStat, DailyPathStat, DailyReferrerStat)
are never touched, and a referral keeps its click's id and time (Referral.click_id,
cookie_set_at), so its "why credited" line still names the click and its day.

Why retention has a floor: the rollups of today and yesterday are recomputed from the raw
clicks every 30 s, and their signup breakdowns (per landing path, per referrer) read the
click a new signup's cookie names, which may be REFERRAL_COOKIE_DAYS old. So no click younger
than REFERRAL_COOKIE_DAYS + 2 days is ever dropped, whatever CLICK_RETENTION_DAYS says: a
day's rollups are final before its clicks can go.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from tracking.models import Click

log = logging.getLogger(__name__)

TABLE = "tracking_click"
DEFAULT_PARTITION = "tracking_click_default"
AHEAD_MONTHS = 2


def _month_start(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def _next_month(month: datetime) -> datetime:
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(month: datetime) -> str:
    return f"{TABLE}_y{month:%Y}m{month:%m}"


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def retention_cutoff(*, now: datetime) -> datetime:
    """Clicks before this instant may be dropped (see the module doc for the floor)."""
    days = max(settings.CLICK_RETENTION_DAYS, settings.REFERRAL_COOKIE_DAYS + 2)
    return now - timedelta(days=days)


def ensure_click_partitions(*, now: datetime, ahead: int = AHEAD_MONTHS) -> list[str]:
    """Create the partitions of `now`'s month and the `ahead` months after it that do not
    exist yet; the names created. Idempotent; a no-op on a plain table."""
    if not is_partitioned():
        return []
    created = []
    month = _month_start(now)
    for _ in range(ahead + 1):
        name = partition_name(month)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [name])
            if cursor.fetchone()[0] is None:
                _create_partition(cursor, name=name, start=month, end=_next_month(month))
                created.append(name)
        month = _next_month(month)
    return created


def _create_partition(cursor, *, name: str, start: datetime, end: datetime) -> None:
    """Make `name` the partition of [start, end): created beside the table, filled with that
    range's rows from the DEFAULT partition, then attached (attaching checks that the
    DEFAULT partition holds none of the range any more). The DEFAULT partition is locked
    first, so no click of the range can land there between the move and the attach; clicks
    of other months keep flowing into their own partitions meanwhile."""
    cursor.execute(f"LOCK TABLE {DEFAULT_PARTITION} IN ACCESS EXCLUSIVE MODE")
    cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS)")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE at >= %s AND at < %s "
        f"RETURNING *) INSERT INTO {name} SELECT * FROM moved",
        [start, end],
    )
    if cursor.rowcount:
        log.info("moved %s clicks from %s into %s", cursor.rowcount, DEFAULT_PARTITION, name)
    cursor.execute(
        f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
        [
            start,
            end,
        ],
    )


@dataclass(frozen=True)
class Purge:
    """What one purge_old_clicks call did; `more` when old rows remain (batches ran out)."""

    cutoff: datetime
    partitions_dropped: list[str]
    rows_deleted: int
    more: bool


_BOUNDS = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


def _month_partitions(cursor) -> list[tuple[str, datetime]]:
    """(name, upper bound) of every monthly partition, the DEFAULT one left out."""
    cursor.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
        [TABLE],
    )
    found = []
    for name, bound in cursor.fetchall():
        match = _BOUNDS.search(bound)
        if match:  # "DEFAULT" has no bounds
            found.append((name, datetime.fromisoformat(match[2]).astimezone(UTC)))
    return found


def purge_old_clicks(*, now: datetime, batch_size: int = 10_000, max_batches: int = 50) -> Purge:
    """Drop the clicks older than the retention cutoff (CLICK_RETENTION_DAYS before `now`).

    PostgreSQL: every monthly partition whose whole range is before the cutoff is dropped; a
    partition straddling the cutoff stays whole until its last day is past it. Old rows in
    the DEFAULT partition are deleted in batches. Elsewhere: old rows are deleted in batches.
    Rollups and referrals are not touched. Idempotent; `more` says a caller should run it
    again with the same `now` (the task re-enqueues itself)."""
    cutoff = retention_cutoff(now=now)
    dropped: list[str] = []
    if is_partitioned():
        with connection.cursor() as cursor:
            for name, upper in sorted(_month_partitions(cursor), key=lambda p: p[1]):
                if upper <= cutoff:
                    # DROP (not DETACH CONCURRENTLY, which a DEFAULT partition forbids): a
                    # brief lock on the parent, once a month.
                    cursor.execute(f"DROP TABLE {name}")
                    dropped.append(name)
        if dropped:
            log.info("dropped click partitions before %s: %s", cutoff, ", ".join(dropped))
        rows, more = _delete_batches(
            f"DELETE FROM {DEFAULT_PARTITION} WHERE id IN (SELECT id FROM {DEFAULT_PARTITION} "
            "WHERE at < %s LIMIT %s)",
            cutoff=cutoff,
            batch_size=batch_size,
            max_batches=max_batches,
        )
    else:
        rows, more = _delete_batches(
            None, cutoff=cutoff, batch_size=batch_size, max_batches=max_batches
        )
    return Purge(cutoff=cutoff, partitions_dropped=dropped, rows_deleted=rows, more=more)


def _delete_batches(
    sql: str | None, *, cutoff: datetime, batch_size: int, max_batches: int
) -> tuple[int, bool]:
    """Delete rows older than `cutoff`, `batch_size` a transaction (short locks; SQLite has
    one writer and the flush must not wait long). `sql` is a raw DELETE for PostgreSQL's
    DEFAULT partition; None means the ORM on the plain table. (rows deleted, more left)."""
    total = 0
    for _ in range(max_batches):
        with transaction.atomic():
            if sql is None:
                ids = list(
                    Click.objects.filter(at__lt=cutoff).values_list("pk", flat=True)[:batch_size]
                )
                deleted = Click.objects.filter(pk__in=ids).delete()[0] if ids else 0
            else:
                with connection.cursor() as cursor:
                    cursor.execute(sql, [cutoff, batch_size])
                    deleted = cursor.rowcount
        total += deleted
        if deleted < batch_size:
            return total, False
    return total, True
