"""Dashboard benchmark (issue 11): the same pages on a near-empty database and on one whose
affiliate has 1,000,000 clicks, 20,000 referrals and 200,000 ledger entries, on PostgreSQL
→ p95 server time per page, the ratio full / empty (goal ≤ 1.5×) and the query counts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/amb_bench \\
        .venv/bin/python bench/dashboard.py [--scale 1.0] [--requests 30] [--days 365]

Uses a throw-away database (bench_<name>, created, migrated and dropped here), never the
real one. Both phases measure the same affiliate and the same URLs in one run:

1. near-empty: the affiliate has 500 clicks, 60 referrals (9 payments each) and 600
   entries, so each list fills its first page (50 rows) as it does at full scale and the
   ratio measures what grows with the data, not a page filling up; its pages are timed.
2. full: the same generator adds `--scale` × 1,000,000 clicks, 20,000 referrals, 180,000
   payments and 200,000 entries (one signup bounty and nine payment commissions per
   referral, in every state; weekly paid payouts carrying the paid ones) — server-side,
   `INSERT … SELECT generate_series`, so it costs seconds, not Python memory. The rollups
   (tracking.DailyStat / DailyPathStat / DailyReferrerStat) are then rebuilt from those
   rows by the real services (tracking.services.refresh_rollups_for_day per day, the
   monthly breakdowns, the commissions money refresh for every marked day, the referral
   summaries with their customer counters), so they agree with the clicks and the ledger;
   VACUUM ANALYZE; the pages are timed again.

Each page is requested in-process through Django's test Client (the whole middleware
stack, a logged-in session), `--requests` times after one warm-up (a fast page more often:
about half a second of requests, at most 200, so its p95 is not one pause); the affiliate's CSV
exports of every entry and payout, whose size is the data's by nature, fewer times and
outside the worst ratio (the program's CSVs are its tables, held to the ratio). Pages still answering
501 (not built on a branch) are listed as such. Bounded in time: building the full data set
takes 4 to 5 minutes on a loaded 2-core machine (the 1M-click INSERT ~110 s, payments and
entries ~30 s each, rollups ~60 s); the timing then costs `--requests` × each page's time
(a page that takes a minute at full scale makes that long: lower `--requests`);
`--scale 0.01 --requests 3` runs in about a minute. Prints figures and ratios; no pass/fail.

`--keep` leaves the bench database in place at the end (dropped by the next run), so its
slow queries can be looked at with EXPLAIN ANALYZE in psql.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

PAYMENTS_PER_REFERRAL = 9  # + 1 signup bounty = 10 entries per referral
PATHS, DOMAINS, VISITORS = 200, 100, 300_000
PROGRAM_CSV_LINK = re.compile(r"/dashboard/program/([A-Za-z0-9_-]+)\.csv")


STEP_SECONDS: dict[str, float] = {}  # seconds per table written (the seed's profile)


def sql(statement: str, params: list | tuple | dict = ()) -> int:
    into = re.search(r"INSERT INTO (\w+)", statement)
    t = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(statement, params)
        rows = cur.rowcount
    if into:
        STEP_SECONDS[into[1]] = STEP_SECONDS.get(into[1], 0.0) + time.perf_counter() - t
    return rows


def seed_rows(*, affiliate_id: int, tag: str, clicks: int, referrals: int, now, days: int) -> None:
    """`clicks` clicks and `referrals` referrals (each with PAYMENTS_PER_REFERRAL payments and
    their entries, plus a signup bounty) spread over the last `days` days; names carry
    `tag` so two batches never collide. Paid entries go into weekly paid payouts."""
    span = days * 86400.0
    first_click = _max_id("tracking_click")
    # 1 in 20 clicks is a bot (not honoured); visitors repeat, so unique < clicks.
    sql(
        """
        INSERT INTO tracking_click (at, affiliate_id, landing_path, referrer_domain, medium,
                                    device, visitor_hash, honoured, reason)
        SELECT %(now)s - (g * %(step)s) * interval '1 second', %(aff)s,
               '/blog/post-' || (g %% %(paths)s) || '/',
               CASE WHEN g %% 4 = 0 THEN '' ELSE 'site' || (g %% %(domains)s) || '.example' END,
               CASE WHEN g %% 4 = 0 THEN 'direct' ELSE 'website' END,
               CASE WHEN g %% 3 = 0 THEN 'mobile' ELSE 'desktop' END,
               md5(%(tag)s || (g %% %(visitors)s)::text),
               g %% 20 <> 0, CASE WHEN g %% 20 = 0 THEN 'bot' ELSE '' END
        FROM generate_series(1, %(n)s) AS g
        """,
        {
            "now": now,
            "step": span / max(clicks, 1),
            "aff": affiliate_id,
            "paths": PATHS,
            "domains": DOMAINS,
            "visitors": VISITORS,
            "tag": tag,
            "n": clicks,
        },
    )
    clicks_per_referral = max(clicks // max(referrals, 1), 1)
    sql(
        """
        INSERT INTO tracking_referral (customer_id, email, source, why, click_id, cookie_set_at,
                                       plan, created_at, affiliate_id)
        SELECT %(tag)s || '-cus-' || g, %(tag)s || '-customer' || g || '@bench.test', 'cookie',
               'cookie from click ' || (%(first)s + g * %(cpr)s), %(first)s + g * %(cpr)s,
               %(now)s - (g * %(step)s) * interval '1 second', 'Pro',
               %(now)s - (g * %(step)s) * interval '1 second', %(aff)s
        FROM generate_series(1, %(n)s) AS g
        """,
        {
            "tag": tag,
            "first": first_click,
            "cpr": clicks_per_referral,
            "now": now,
            "step": span / max(referrals, 1),
            "aff": affiliate_id,
            "n": referrals,
        },
    )
    # Nine monthly-ish payments between signup and now; 29, 39 … 89 dollars.
    sql(
        """
        INSERT INTO commissions_payment (provider, external_id, customer_id, amount, tax,
            currency, paid_at, product_plan, subscription_id, is_first, charge_id,
            payment_intent_id, fx_rate, fx_source, program_amount, refunded_amount,
            dispute_state, created_at, referral_id, status, status_reason)
        SELECT 'api', 'bench-in-' || r.id || '-' || k, r.customer_id,
               2900 + (r.id %% 7) * 1000, 0, 'USD',
               r.created_at + k * (%(now)s - r.created_at) / %(per)s, 'Pro', 'sub-' || r.id,
               k = 0, '', '', 1, 'program', 2900 + (r.id %% 7) * 1000, 0, '',
               r.created_at + k * (%(now)s - r.created_at) / %(per)s, r.id, 'computed', ''
        FROM tracking_referral r CROSS JOIN generate_series(0, %(per1)s) AS k
        WHERE r.customer_id LIKE %(like)s
        """,
        {
            "now": now,
            "per": PAYMENTS_PER_REFERRAL,
            "per1": PAYMENTS_PER_REFERRAL - 1,
            "like": f"{tag}-cus-%",
        },
    )
    # Entries: hold 30 days; older than a week past the hold → paid, past the hold →
    # approved, else pending; one payment in 50 declined.
    state = """CASE WHEN {src} %% 50 = 0 THEN 'declined'
                    WHEN {at} + interval '37 days' < %(now)s THEN 'paid'
                    WHEN {at} + interval '30 days' < %(now)s THEN 'approved'
                    ELSE 'pending' END"""
    stamps = """CASE WHEN {s} IN ('approved', 'paid') THEN {at} + interval '30 days' END,
                CASE WHEN {s} = 'declined' THEN {at} + interval '1 day' END,
                CASE WHEN {s} = 'paid' THEN {at} + interval '37 days' END,
                CASE WHEN {s} = 'paid' THEN {at} + interval '37 days' END"""
    sql(
        f"""
        INSERT INTO commissions_commissionentry (kind, amount, currency, source_type, source_id,
            rule, rate_bp, base_amount, base_currency, fx_rate, state, approve_after, created_at,
            approved_at, declined_at, in_payout_at, paid_at, state_note, affiliate_id,
            payment_id)
        SELECT CASE WHEN p.is_first THEN 'first_payment' ELSE 'recurring' END,
               (p.amount * 2000 * 2 + 10000) / 20000, 'USD', 'payment', p.id::text,
               'Standard plan: 20%% of each payment', 2000, p.amount, 'USD', 1, s.state,
               p.paid_at + interval '30 days', p.paid_at,
               {stamps.format(s="s.state", at="p.paid_at")}, '', %(aff)s, p.id
        FROM commissions_payment p
        JOIN tracking_referral r ON r.id = p.referral_id
        CROSS JOIN LATERAL (SELECT {state.format(src="p.id", at="p.paid_at")} AS state) s
        WHERE r.customer_id LIKE %(like)s
        """,
        {"now": now, "aff": affiliate_id, "like": f"{tag}-cus-%"},
    )
    sql(
        f"""
        INSERT INTO commissions_commissionentry (kind, amount, currency, source_type, source_id,
            rule, rate_bp, base_amount, base_currency, fx_rate, state, approve_after, created_at,
            approved_at, declined_at, in_payout_at, paid_at, state_note, affiliate_id,
            payment_id)
        SELECT 'signup', 25, 'USD', 'signup', r.id::text, 'Signup bounty', NULL, NULL, '',
               NULL, s.state, r.created_at + interval '30 days', r.created_at,
               {stamps.format(s="s.state", at="r.created_at")}, '', %(aff)s, NULL
        FROM tracking_referral r
        CROSS JOIN LATERAL (SELECT {state.format(src="r.id", at="r.created_at")} AS state) s
        WHERE r.customer_id LIKE %(like)s
        """,
        {"now": now, "aff": affiliate_id, "like": f"{tag}-cus-%"},
    )
    # Weekly paid payouts, one per week of payment, carrying that week's paid entries (and
    # their count, as payouts.services.runs stores it).
    run_id = _insert_run(tag, now)
    week = "date_trunc('week', e.paid_at)"
    sql(
        f"""
        INSERT INTO payouts_payout (amount, currency, method, destination, state,
            idempotency_key, provider_id, provider_status, provider_response, failure_reason,
            reference, reversed_amount, attempts, created_at, sent_at, paid_at, affiliate_id,
            run_id, bank_details, tax_country, tax_form, tax_id, tax_legal_name, entry_count)
        SELECT sum(e.amount), 'USD', 'paypal', 'bench.payouts@paypal.test', 'paid',
               %(tag)s || '-' || to_char({week}, 'IYYY-IW'), '', 'SUCCESS', '{{}}', '', '',
               0, 1, {week}, {week}, {week}, %(aff)s, %(run)s, '', '', '', '', '',
               count(*)
        FROM commissions_commissionentry e
        WHERE e.affiliate_id = %(aff)s AND e.state = 'paid' AND e.id > %(after)s
        GROUP BY {week}
        """,
        {"tag": tag, "aff": affiliate_id, "run": run_id, "after": _entries_before[tag]},
    )
    sql(
        f"""
        INSERT INTO payouts_payoutitem (amount, live, entry_id, payout_id)
        SELECT e.amount, true, e.id, p.id
        FROM commissions_commissionentry e
        JOIN payouts_payout p ON p.idempotency_key = %(tag)s || '-' || to_char({week}, 'IYYY-IW')
        WHERE e.affiliate_id = %(aff)s AND e.state = 'paid' AND e.id > %(after)s
        """,
        {"tag": tag, "aff": affiliate_id, "after": _entries_before[tag]},
    )


_entries_before: dict[str, int] = {}


def _max_id(table: str) -> int:
    with connection.cursor() as cur:
        cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 (fixed names)
        return cur.fetchone()[0]


def _insert_run(tag: str, now) -> int:
    with connection.cursor() as cur:
        cur.execute(
            """INSERT INTO payouts_payoutrun (key, started_at, two_weekly_only, state,
                   approved_at, payout_count, totals, carried_count, completed_at)
               VALUES (%s, %s, false, 'completed', %s, 0, '{}', 0, %s) RETURNING id""",
            [f"bench-{tag}", now, now, now],
        )
        return cur.fetchone()[0]


def seed(*, affiliate_id: int, tag: str, clicks: int, referrals: int, now, days: int) -> None:
    _entries_before[tag] = _max_id("commissions_commissionentry")
    seed_rows(
        affiliate_id=affiliate_id, tag=tag, clicks=clicks, referrals=referrals, now=now, days=days
    )


CLICK_DAY = "(c.at AT TIME ZONE 'UTC')::date"
SIGNUP_DAY = "(r.created_at AT TIME ZONE 'UTC')::date"


def rebuild_rollups(*, affiliate_id: int, now, days: int) -> tuple[float, float]:
    """The rollups as production leaves them. Click and signup columns: the GROUP BY of
    tracking.services.refresh_rollups_for_day (honoured clicks, distinct visitor hashes and
    rejected clicks per UTC day; signups per day of the referral, and per landing path /
    referrer domain of the click it came through), run once over every day as INSERT …
    SELECT … ON CONFLICT (the service does one day per call: 365 calls cost a minute here);
    then the monthly sums of the breakdowns by the service itself
    (tracking.services.refresh_monthly_breakdowns, what refresh_rollups_for_day calls).
    Money columns: the real commissions refresh (commissions.rollups) of every marked day.
    The referral summaries and the customer counters they keep: the real backfill
    (commissions.referral_stats.backfill → tracking.services.set_referral_stats).
    Returns (seconds for clicks, seconds for money)."""
    from commissions.ledger_rollups import refresh_ledger_days
    from commissions.rollups import refresh_daily_money
    from tracking.services import mark_daily_money_due

    t = time.perf_counter()
    p = {"aff": affiliate_id}
    sql(
        f"""
        INSERT INTO tracking_dailystat (affiliate_id, day, clicks, unique_clicks, rejected_clicks,
                                        signups, first_payments, revenue, commission)
        SELECT c.affiliate_id, {CLICK_DAY}, count(*) FILTER (WHERE c.honoured),
               count(DISTINCT c.visitor_hash) FILTER (WHERE c.honoured),
               count(*) FILTER (WHERE NOT c.honoured), 0, 0, 0, 0
        FROM tracking_click c WHERE c.affiliate_id = %(aff)s GROUP BY 1, 2
        ON CONFLICT (affiliate_id, day) DO UPDATE SET clicks = EXCLUDED.clicks,
            unique_clicks = EXCLUDED.unique_clicks, rejected_clicks = EXCLUDED.rejected_clicks
        """,
        p,
    )
    sql(
        f"""
        INSERT INTO tracking_dailystat (affiliate_id, day, clicks, unique_clicks, rejected_clicks,
                                        signups, first_payments, revenue, commission)
        SELECT r.affiliate_id, {SIGNUP_DAY}, 0, 0, 0, count(*), 0, 0, 0
        FROM tracking_referral r WHERE r.affiliate_id = %(aff)s GROUP BY 1, 2
        ON CONFLICT (affiliate_id, day) DO UPDATE SET signups = EXCLUDED.signups
        """,
        p,
    )
    for table, key, column in (
        ("tracking_dailypathstat", "path", "landing_path"),
        ("tracking_dailyreferrerstat", "domain", "referrer_domain"),
    ):
        sql(
            f"""
            INSERT INTO {table} (affiliate_id, day, {key}, clicks, unique_clicks, signups)
            SELECT c.affiliate_id, {CLICK_DAY}, c.{column}, count(*),
                   count(DISTINCT c.visitor_hash), 0
            FROM tracking_click c WHERE c.affiliate_id = %(aff)s AND c.honoured
            GROUP BY 1, 2, 3
            ON CONFLICT (affiliate_id, day, {key}) DO UPDATE SET clicks = EXCLUDED.clicks,
                unique_clicks = EXCLUDED.unique_clicks
            """,
            p,
        )
        sql(
            f"""
            INSERT INTO {table} (affiliate_id, day, {key}, clicks, unique_clicks, signups)
            SELECT r.affiliate_id, {SIGNUP_DAY}, c.{column}, 0, 0, count(*)
            FROM tracking_referral r
            JOIN tracking_click c ON c.id = r.click_id AND c.affiliate_id = r.affiliate_id
            WHERE r.affiliate_id = %(aff)s GROUP BY 1, 2, 3
            ON CONFLICT (affiliate_id, day, {key}) DO UPDATE SET signups = EXCLUDED.signups
            """,
            p,
        )
    # Their monthly sums, by the service refresh_rollups_for_day calls after each day.
    from tracking.services import refresh_monthly_breakdowns

    today = now.astimezone(UTC).date()
    month = (today - timedelta(days=days)).replace(day=1)
    while month <= today:
        refresh_monthly_breakdowns(month=month, affiliate_ids=[affiliate_id])
        month = (month + timedelta(days=32)).replace(day=1)
    clicks = time.perf_counter() - t
    t = time.perf_counter()
    mark_daily_money_due(pairs=[(affiliate_id, today - timedelta(days=i)) for i in range(days + 1)])
    while refresh_daily_money(limit=5000, max_runs=20):
        pass
    # The referral summaries, as the backfill migration computes them (the rows above were
    # inserted bare, so nothing marked them).
    from commissions.referral_stats import backfill

    backfill(now=now)
    # The ledger's daily rollup: the sweep stamps the generated entries' earning days
    # (written here around insert_entries) and rolls the days it marks.
    while refresh_ledger_days(limit=5000, max_runs=20):
        pass
    return clicks, time.perf_counter() - t


def check_money(affiliate_id: int) -> str:
    from django.db.models import Sum

    from commissions.models import CommissionEntry, Payment
    from tracking.models import DailyStat

    rolled = DailyStat.objects.filter(affiliate_id=affiliate_id).aggregate(
        rev=Sum("revenue"), com=Sum("commission")
    )
    revenue = Payment.objects.filter(referral__affiliate_id=affiliate_id).aggregate(
        s=Sum("program_amount")
    )["s"]
    commission = (
        CommissionEntry.objects.filter(affiliate_id=affiliate_id)
        .exclude(state="declined")
        .aggregate(s=Sum("amount"))["s"]
    )
    ok = (rolled["rev"], rolled["com"]) == (revenue, commission)
    return (
        f"money rollups {'agree' if ok else 'DISAGREE'} with the ledger: revenue "
        f"{revenue:,} (DailyStat {rolled['rev']:,}), commission {commission:,} "
        f"(DailyStat {rolled['com']:,}) minor units"
    )


def check_rollups(affiliate_id: int) -> str:
    from django.db.models import Count, Q, Sum

    from tracking.models import Click, DailyPathStat, DailyStat

    rolled = DailyStat.objects.filter(affiliate_id=affiliate_id).aggregate(
        c=Sum("clicks"), r=Sum("rejected_clicks")
    )
    raw = Click.objects.filter(affiliate_id=affiliate_id).aggregate(
        c=Count("id", filter=Q(honoured=True)), r=Count("id", filter=Q(honoured=False))
    )
    paths = DailyPathStat.objects.filter(affiliate_id=affiliate_id).aggregate(c=Sum("clicks"))
    ok = rolled["c"] == raw["c"] == paths["c"] and rolled["r"] == raw["r"]
    return (
        f"rollups {'agree' if ok else 'DISAGREE'} with the clicks: honoured {raw['c']:,} "
        f"(DailyStat {rolled['c']:,}, DailyPathStat {paths['c']:,}), rejected {raw['r']:,}"
    )


def counts(affiliate_id: int) -> str:
    from commissions.models import CommissionEntry, Payment
    from payouts.models import Payout
    from tracking.models import Click, DailyStat, Referral

    return ", ".join(
        f"{n:,} {label}"
        for label, n in (
            ("clicks", Click.objects.filter(affiliate_id=affiliate_id).count()),
            ("referrals", Referral.objects.filter(affiliate_id=affiliate_id).count()),
            ("payments", Payment.objects.filter(referral__affiliate_id=affiliate_id).count()),
            ("entries", CommissionEntry.objects.filter(affiliate_id=affiliate_id).count()),
            ("payouts", Payout.objects.filter(affiliate_id=affiliate_id).count()),
            ("daily rollups", DailyStat.objects.filter(affiliate_id=affiliate_id).count()),
        )
    )


def pages(client, referral_pk: int) -> list[tuple[str, str, bool]]:
    """(label, url, is_export) of every page measured; program CSVs as the page links them."""
    from django.urls import reverse

    found = [
        ("overview", reverse("dashboard"), False),
        ("overview, all time", reverse("dashboard") + "?range=all", False),
        ("referrals", reverse("dashboard-referrals"), False),
        (
            "referrals, paying by revenue",
            reverse("dashboard-referrals") + "?status=paying&sort=-revenue",
            False,
        ),
        (
            "referrals, churned, page 3",
            reverse("dashboard-referrals") + "?status=churned&sort=first_payment&page=3",
            False,
        ),
        ("referral drill-down", reverse("dashboard-referral", kwargs={"pk": referral_pk}), False),
        ("commissions", reverse("dashboard-commissions"), False),
        ("payouts", reverse("dashboard-payouts"), False),
        ("links", reverse("dashboard-links") + "?url=https://example.com/pricing", False),
        ("creatives", reverse("dashboard-creatives"), False),
        ("settings", reverse("affiliates-settings"), False),
        ("payout settings", reverse("payouts-settings"), False),
        ("program", reverse("dashboard-program"), False),
        ("program, all time", reverse("dashboard-program") + "?range=all", False),
        ("commissions.csv", reverse("dashboard-commissions-csv"), True),
        ("payouts.csv", reverse("dashboard-payouts-csv"), True),
    ]
    html = client["staff"].get(reverse("dashboard-program")).content.decode()
    for table in sorted(set(PROGRAM_CSV_LINK.findall(html))):
        url = reverse("dashboard-program-csv", kwargs={"table": table})
        # A program table's CSV: the page's own figures, held to the ratio like a page.
        found.append((f"program {table}.csv", url, False))
    return found


MIN_TIMED_SECONDS = 0.5


def measure(client, url: str, n: int, *, export: bool = False) -> dict:
    def once() -> tuple[float, int]:
        t = time.perf_counter()
        response = client.get(url)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
        return time.perf_counter() - t, response.status_code

    # The garbage of the page before (an export of 200,000 rows) is collected here, not in
    # the middle of this page's timed requests.
    gc.collect()
    _, status = once()  # warm-up (templates, caches)
    if status != 200:
        return {"status": status}
    with CaptureQueriesContext(connection) as captured:
        took, _ = once()
    # Now: the next request's request_started empties the connection's query log.
    queries = len(captured.captured_queries)
    slowest = max(captured.captured_queries, key=lambda q: float(q["time"]), default=None)
    # A fast page gets more requests (about MIN_TIMED_SECONDS' worth, at most 200): a p95
    # of 20 requests of 3 ms is one autovacuum or GC pause away from doubling.
    if not export:
        n = max(n, min(200, int(MIN_TIMED_SECONDS / max(took, 1e-4))))
    times = sorted(once()[0] for _ in range(n))
    p95 = times[min(len(times) - 1, max(0, round(0.95 * len(times)) - 1))]
    return {
        "status": 200,
        "p95": p95 * 1000,
        "median": statistics.median(times) * 1000,
        "queries": queries,
        "slowest": (float(slowest["time"]) * 1000, slowest["sql"]) if slowest else (0.0, ""),
    }


def settle() -> None:
    """The seed's dirty pages written out now (CHECKPOINT, then the OS's), not during the
    timed requests: at full scale their writeback slowed whichever pages came first, as in
    bench/redirect.py."""
    sql("CHECKPOINT")
    os.sync()


def only(urls, wanted: str):
    """The (label, url, is_export) whose label contains one of the comma-separated words."""
    words = [w.strip().lower() for w in wanted.split(",") if w.strip()]
    return [u for u in urls if not words or any(w in u[0].lower() for w in words)]


def measure_all(clients, urls, requests: int) -> dict[str, dict]:
    results = {}
    for label, url, is_export in urls:
        who = "staff" if "/program/" in url else "affiliate"
        results[label] = measure(
            clients[who], url, max(3, requests // 10) if is_export else requests, export=is_export
        )
        r = results[label]
        figure = f"{r['p95']:.1f} ms, {r['queries']} queries" if r["status"] == 200 else r["status"]
        print(f"  {label:<26} {figure}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full data set")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--days", type=int, default=365, help="days the data spreads over")
    parser.add_argument(
        "--pages",
        default="",
        help="time only the pages whose label contains one of these comma-separated words "
        "(e.g. 'referral'); default every page",
    )
    parser.add_argument(
        "--keep", action="store_true", help="leave the bench database in place at the end"
    )
    args = parser.parse_args()
    if not settings.IS_POSTGRES:
        sys.exit("bench/dashboard.py needs PostgreSQL: set DATABASE_URL.")
    settings.DEBUG = False
    setup_test_environment(debug=False)  # locmem e-mail, `testserver` allowed
    db = settings.DATABASES["default"]
    db["TEST"]["NAME"] = f"bench_{db['NAME']}"
    t = time.perf_counter()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(
        f"# bench/dashboard.py --scale {args.scale} --requests {args.requests} --days {args.days}"
        + (f" --pages {args.pages}" if args.pages else "")
    )
    print(f"migrated {db['TEST']['NAME']} in {time.perf_counter() - t:.1f} s")
    try:
        run(args)
    finally:
        if args.keep:
            connection.close()
            print(f"kept {db['TEST']['NAME']} (dropped by the next run)")
        else:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def run(args: argparse.Namespace) -> None:
    from django.contrib.auth.models import Group
    from django.test import Client

    from affiliates.models import Affiliate, User, Username
    from affiliates.roles import SUPPORT
    from tracking.models import Referral

    now = datetime.now(UTC).replace(microsecond=0)
    user = User.objects.create_user(email="bench-affiliate@bench.test", password="!")
    affiliate = Affiliate.objects.create(
        user=user,
        username="benchaff",
        status=Affiliate.Status.APPROVED,
        applied_at=now - timedelta(days=args.days + 30),
        approved_at=now - timedelta(days=args.days + 30),
        created_at=now - timedelta(days=args.days + 30),
    )
    Username.objects.create(name=affiliate.username, affiliate=affiliate, created_at=now)
    staff = User.objects.create_user(email="bench-support@bench.test", password="!", is_staff=True)
    staff.groups.add(Group.objects.get(name=SUPPORT))
    clients = {"affiliate": Client(), "staff": Client()}
    clients["affiliate"].force_login(user)
    clients["staff"].force_login(staff)

    t = time.perf_counter()
    seed(affiliate_id=affiliate.pk, tag="small", clicks=500, referrals=60, now=now, days=args.days)
    rebuild_rollups(affiliate_id=affiliate.pk, now=now, days=args.days)
    sql("VACUUM ANALYZE")
    settle()
    print(check_money(affiliate.pk))
    print(f"near-empty: {counts(affiliate.pk)} ({time.perf_counter() - t:.1f} s)")
    small_referral = Referral.objects.filter(customer_id="small-cus-1").values_list(
        "pk", flat=True
    )[0]
    urls_small = only(pages(clients, small_referral), args.pages)
    print("timing the near-empty database:")
    empty = measure_all(clients, urls_small, args.requests)

    clicks = round(1_000_000 * args.scale)
    referrals = round(20_000 * args.scale)
    t = time.perf_counter()
    seed(
        affiliate_id=affiliate.pk,
        tag="big",
        clicks=clicks,
        referrals=referrals,
        now=now,
        days=args.days,
    )
    seeded = time.perf_counter() - t
    t = time.perf_counter()
    rolled_clicks, rolled_money = rebuild_rollups(
        affiliate_id=affiliate.pk, now=now, days=args.days
    )
    t = time.perf_counter()
    sql("VACUUM ANALYZE")
    settle()
    print(
        f"full: {counts(affiliate.pk)} (rows {seeded:.1f} s, click rollups "
        f"{rolled_clicks:.1f} s, money rollups {rolled_money:.1f} s, "
        f"vacuum {time.perf_counter() - t:.1f} s)"
    )
    print("  seconds per table: " + ", ".join(f"{k} {v:.1f}" for k, v in STEP_SECONDS.items()))
    print(check_rollups(affiliate.pk))
    print(check_money(affiliate.pk))
    # A typical referral of the big batch (nine payments, ten entries), like the small one.
    big_referral = Referral.objects.filter(customer_id="big-cus-1").values_list("pk", flat=True)[0]
    urls_big = only(pages(clients, big_referral), args.pages)
    print("timing the full database:")
    full = measure_all(clients, urls_big, args.requests)

    print()
    print(f"{'page':<26}{'p95 empty':>11}{'p95 full':>11}{'ratio':>8}{'queries':>14}")
    worst = (0.0, "")
    for label, _, is_export in urls_big:
        e, f = empty.get(label, {}), full.get(label, {})
        if e.get("status") != 200 or f.get("status") != 200:
            print(f"{label:<26}{'answers ' + str(f.get('status', e.get('status'))):>30}")
            continue
        ratio = f["p95"] / e["p95"]
        note = "  (export of every row: grows with them)" if is_export else ""
        print(
            f"{label:<26}{e['p95']:>9.1f}ms{f['p95']:>9.1f}ms{ratio:>7.2f}×"
            f"{e['queries']:>7} → {f['queries']:<4}{note}"
        )
        if not is_export and ratio > worst[0]:
            worst = (ratio, label)
    if worst[1]:
        print(f"worst page ratio full / empty: {worst[0]:.2f}× ({worst[1]}; goal ≤ 1.5×)")
    print()
    print("slowest query of each page on the full database (one request):")
    for label, _, _ in urls_big:
        if full.get(label, {}).get("status") == 200:
            ms, text = full[label]["slowest"]
            print(f"  {label:<26}{ms:8.1f} ms  {' '.join(text.split())[:150]}")


if __name__ == "__main__":
    main()
