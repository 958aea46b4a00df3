"""Approval job benchmark: N pending, due commission entries on PostgreSQL → the time of
`approve_due_commissions` vs a bare SQL UPDATE of the same rows in the same run (goal ≤ 2×),
and the process's peak memory (goal ≤ 200 MB).

    DATABASE_URL=postgres://… .venv/bin/python bench/approval.py [--rows 1000000] [--batch 10000]
        [--webhook]   # with a webhook endpoint registered: the run also writes its
                      # commission.approved summaries (one per affiliate) to the outbox

Uses a throw-away database (bench_<name>, created and dropped here), never the real one.
Both contenders work on identical rows: the entries are inserted once, the bare UPDATE
approves them, a raw reset puts them back to pending (the trigger allows state changes),
VACUUM ANALYZE runs before each timing, then the job approves them. Both pay the
append-only trigger. Prints figures and ratios; no pass/fail.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

CUTOFF = datetime(2026, 12, 10, 18, 7, tzinfo=UTC)
AFFILIATES = 1000


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def seed(rows: int) -> None:
    from affiliates.models import Affiliate, User

    users = User.objects.bulk_create(
        [User(email=f"bench{i}@example.org", password="!") for i in range(AFFILIATES)]
    )
    Affiliate.objects.bulk_create(
        [Affiliate(user=u, username=f"bench{i}", status="approved") for i, u in enumerate(users)]
    )
    with connection.cursor() as cur:
        cur.execute("SELECT min(id) FROM affiliates_affiliate")
        first = cur.fetchone()[0]
        # Server-side generation: the seed itself costs no Python memory.
        cur.execute(
            """
            INSERT INTO commissions_commissionentry
                (kind, affiliate_id, amount, currency, source_type, source_id, rule, state,
                 approve_after, created_at, state_note, base_currency, earned_on)
            SELECT 'recurring', %s + (g %% %s), 800, 'USD', 'admin', 'bench-' || g, 'bench',
                   'pending', %s - (g %% 1000) * interval '1 minute', %s, '', 'USD',
                   -- earned over the week a 30-day hold ago: the job marks 7 days each
                   (%s - interval '30 days' - (g %% 7) * interval '1 day')::date
            FROM generate_series(1, %s) AS g
            """,
            [first, AFFILIATES, CUTOFF, CUTOFF, CUTOFF, rows],
        )


def vacuum() -> None:
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE commissions_commissionentry")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--webhook", action="store_true", help="register a webhook endpoint")
    args = parser.parse_args()
    if not settings.IS_POSTGRES:
        sys.exit("bench/approval.py needs PostgreSQL: set DATABASE_URL.")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    setup_test_environment(debug=False)
    db = settings.DATABASES["default"]
    db["TEST"]["NAME"] = f"bench_{db['NAME']}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from commissions.models import CommissionEntry
        from commissions.services import approve_due_commissions

        t = time.perf_counter()
        seed(args.rows)
        print(f"seeded {args.rows:,} pending due entries in {time.perf_counter() - t:.1f} s")

        vacuum()
        with connection.cursor() as cur:
            t = time.perf_counter()
            cur.execute(
                "UPDATE commissions_commissionentry SET state = 'approved', approved_at = %s "
                "WHERE state = 'pending' AND approve_after <= %s",
                [CUTOFF, CUTOFF],
            )
            bare_rows = cur.rowcount
            bare = time.perf_counter() - t
            cur.execute(
                "UPDATE commissions_commissionentry SET state = 'pending', approved_at = NULL"
            )
        vacuum()
        if args.webhook:
            from webhooks.models import Delivery, Endpoint

            # Never called here: the job only writes the outbox rows (the sweeper sends).
            Endpoint.objects.create(
                url="https://crm.example.com/hook", secret="whsec_x", created_at=CUTOFF
            )

        rss_before = rss_mb()
        t = time.perf_counter()
        result = approve_due_commissions(now=CUTOFF, batch_size=args.batch)
        job = time.perf_counter() - t
        rss_after = rss_mb()
        assert result.approved == bare_rows == args.rows, (result.approved, bare_rows)
        assert not CommissionEntry.objects.filter(state="pending").exists()

        print(f"bare SQL UPDATE      : {bare:8.2f} s  ({bare_rows / bare:,.0f} rows/s)")
        print(
            f"approve_due_commissions: {job:6.2f} s  ({result.approved / job:,.0f} rows/s, "
            f"{result.batches} batches of {args.batch:,}, {len(result.affiliate_ids)} e-mails)"
        )
        if args.webhook:
            print(f"webhook deliveries   : {Delivery.objects.count():8,} (commission.approved)")
        print(f"ratio job / bare     : {job / bare:8.2f}×  (goal ≤ 2×)")
        print(
            f"peak RSS             : {rss_after:8.1f} MB (before the job {rss_before:.1f} MB; "
            "goal ≤ 200 MB)"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
