"""PostgreSQL: turn tracking_click into a table partitioned by month on `at` (issue 13).

Why by month on `at`: retention then drops whole months (DROP TABLE, no row deletes, no
bloat) and every read of the clicks (rollups per day, drill-downs per affiliate and time)
names a time range, so it reads one or two partitions.

The primary key becomes (id, at): PostgreSQL requires every unique index of a partitioned
table to contain the partition key. Django's model keeps `id` as its primary key (reads,
admin and the click cookie all use it); ids stay unique because one sequence (and the Redis
counter seeded past it, tracking.clicks) hands them out, and nothing references a click by a
foreign key (Referral.click_id is a plain integer).

Works on an existing deployment with clicks and on a fresh database alike:

1. a partitioned copy `tracking_click_part` is created with the same columns, indexes and
   foreign key, one partition per month from the oldest click still within retention to two
   months ahead, and a DEFAULT partition (a click of a month without its own partition —
   a wrong clock, demo data — lands there instead of failing the whole flush);
2. the rows are copied in batches by id, each batch its own transaction, so the table stays
   readable and writable meanwhile (the migration is not atomic for that reason);
3. under an EXCLUSIVE lock (reads go on; writes wait, and with the Redis buffer a waiting
   flush only delays clicks, it loses none) the rows written meanwhile are copied, the counts
   are checked, the sequence is carried over, the old table is dropped and the new one takes
   its name, its sequence's name and its index names.

Re-running it on a table that is already partitioned does nothing. On SQLite (and any other
engine) it does nothing: a plain table with a batched delete (tracking.services.retention).
The reverse is a no-op: the partitioned table has the same columns as the plain one.
"""

import re
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import migrations, transaction
from django.utils import timezone

BATCH = 50_000
AHEAD_MONTHS = 2


def _month_start(at: datetime) -> datetime:
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def _next_month(at: datetime) -> datetime:
    return datetime(at.year + at.month // 12, at.month % 12 + 1, 1, tzinfo=UTC)


def _partition_months(oldest: datetime | None, now: datetime) -> list[datetime]:
    # Older clicks than retention's cutoff go to the DEFAULT partition: the next retention run
    # deletes them there, and a stray 1970 click does not create 600 partitions.
    cutoff = now - timedelta(days=getattr(settings, "CLICK_RETENTION_DAYS", 400))
    month = _month_start(max(oldest or now, cutoff))
    last = _month_start(now)
    for _ in range(AHEAD_MONTHS):
        last = _next_month(last)
    months = []
    while month <= last:
        months.append(month)
        month = _next_month(month)
    return months


def partition_click_table(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = 'tracking_click'::regclass")
        if cursor.fetchone()[0] == "p":
            return
        with transaction.atomic(using=connection.alias):
            _create_partitioned_copy(cursor, now=timezone.now())
        watermark = 0
        while True:
            with transaction.atomic(using=connection.alias):
                top = _copy_batch(cursor, after=watermark)
            if top is None:
                break
            watermark = top
        with transaction.atomic(using=connection.alias):
            _swap(cursor, watermark=watermark)


def _create_partitioned_copy(cursor, *, now: datetime) -> None:
    cursor.execute("CREATE SEQUENCE tracking_click_part_id_seq")
    # LIKE copies the columns (types, NOT NULL) but not the identity: a partitioned table
    # cannot have an identity column before PostgreSQL 17, so the id defaults to a sequence.
    cursor.execute(
        "CREATE TABLE tracking_click_part (LIKE tracking_click) PARTITION BY RANGE (at);"
        "ALTER TABLE tracking_click_part ALTER COLUMN id "
        "SET DEFAULT nextval('tracking_click_part_id_seq');"
        # (id, at), id first: a lookup by id and MAX(id) (seeding the Redis counter) use it.
        "ALTER TABLE tracking_click_part "
        "ADD CONSTRAINT tracking_click_part_pkey PRIMARY KEY (id, at)"
    )
    cursor.execute("SELECT min(at) FROM tracking_click")
    for month in _partition_months(cursor.fetchone()[0], now):
        cursor.execute(
            f"CREATE TABLE tracking_click_y{month:%Y}m{month:%m} PARTITION OF "
            "tracking_click_part FOR VALUES FROM (%s) TO (%s)",
            [month, _next_month(month)],
        )
    cursor.execute("CREATE TABLE tracking_click_default PARTITION OF tracking_click_part DEFAULT")
    # The same secondary indexes and foreign key as the plain table, read from the catalogue
    # (whatever names Django gave them); indexes get a suffix until the old table is gone.
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tracking_click' "
        "AND indexname <> 'tracking_click_pkey'"
    )
    for name, definition in cursor.fetchall():
        definition = definition.replace(f"INDEX {name} ", f"INDEX {name}_p ", 1)
        cursor.execute(
            re.sub(r" ON \S*tracking_click USING ", " ON tracking_click_part USING ", definition)
        )
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'tracking_click'::regclass AND contype = 'f'"
    )
    for name, definition in cursor.fetchall():
        cursor.execute(f'ALTER TABLE tracking_click_part ADD CONSTRAINT "{name}" {definition}')


def _copy_batch(cursor, *, after: int) -> int | None:
    """Copy the next BATCH rows by id; the highest id copied, None when none were left."""
    cursor.execute(
        "WITH batch AS (SELECT * FROM tracking_click WHERE id > %s ORDER BY id LIMIT %s), "
        "copied AS (INSERT INTO tracking_click_part SELECT * FROM batch ON CONFLICT DO NOTHING) "
        "SELECT max(id) FROM batch",
        [after, BATCH],
    )
    return cursor.fetchone()[0]


def _swap(cursor, *, watermark: int) -> None:
    cursor.execute("LOCK TABLE tracking_click IN EXCLUSIVE MODE")
    # The foreign key is deferred: check the rows copied here now, since a table with
    # pending checks cannot be dropped or renamed.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute(
        "INSERT INTO tracking_click_part SELECT * FROM tracking_click WHERE id > %s "
        "ON CONFLICT DO NOTHING",
        [watermark],
    )
    cursor.execute(
        "SELECT (SELECT count(*) FROM tracking_click), count(*) FROM tracking_click_part"
    )
    old, new = cursor.fetchone()
    if old != new:
        # A row committed out of id order during the copy, or deleted after it was copied.
        cursor.execute(
            "INSERT INTO tracking_click_part SELECT * FROM tracking_click o WHERE NOT EXISTS "
            "(SELECT 1 FROM tracking_click_part n WHERE n.id = o.id) ON CONFLICT DO NOTHING;"
            "DELETE FROM tracking_click_part n WHERE NOT EXISTS "
            "(SELECT 1 FROM tracking_click o WHERE o.id = n.id)"
        )
    # Never hand out an id again: past the old sequence and past every row.
    cursor.execute(
        "SELECT setval('tracking_click_part_id_seq', GREATEST(s.last_value, "
        "(SELECT coalesce(max(id), 0) FROM tracking_click), 1), s.is_called OR EXISTS "
        "(SELECT 1 FROM tracking_click)) FROM tracking_click_id_seq s"
    )
    cursor.execute(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'tracking_click' "
        "AND indexname <> 'tracking_click_pkey'"
    )
    names = [name for (name,) in cursor.fetchall()]
    cursor.execute(
        "DROP TABLE tracking_click;"
        "ALTER TABLE tracking_click_part RENAME TO tracking_click;"
        "ALTER SEQUENCE tracking_click_part_id_seq RENAME TO tracking_click_id_seq;"
        # Owned by the column: pg_get_serial_sequence (tracking.clicks, Django's sequence
        # reset) finds it, and dropping the table drops it.
        "ALTER SEQUENCE tracking_click_id_seq OWNED BY tracking_click.id;"
        "ALTER TABLE tracking_click RENAME CONSTRAINT tracking_click_part_pkey "
        "TO tracking_click_pkey"
    )
    for name in names:
        cursor.execute(f'ALTER INDEX "{name}_p" RENAME TO "{name}"')


class Migration(migrations.Migration):
    # Each copy batch commits on its own (see the module doc).
    atomic = False

    dependencies = [("tracking", "0006_perf_ref_referral_customer_index")]

    operations = [
        migrations.RunPython(partition_click_table, migrations.RunPython.noop, elidable=False),
    ]
