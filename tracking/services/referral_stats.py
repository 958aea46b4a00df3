"""Referral summaries (Referral.stat_*): what the dashboard's referral list sorts and
filters on. Like the daily money rollups, the commissions app marks the referrals whose
money or subscription changed (mark_referrals_due, in its own transaction) and has them
recomputed (refresh_due_referral_stats) with a callback it supplies, since tracking must
not import it.

The same write keeps the program dashboard's customer counters (DailyCustomerStat,
CohortStat): each referral's share of them is derived from its kept payment days
(`contribution`), stored with the summary (Referral.stat_kept), and on every rewrite the
old share is taken out and the new one added, in the same transaction. The counters thus
always equal the sum of the stored shares; a reader corrects for the referrals still marked
due by swapping their stored share for a live one (dashboard.selectors.customers).

The tiers' sales counter (MonthlySalesStat) is kept the same way: a referral's share is its
payments' program amounts per UTC month (`monthly_sales`), credited to each of its earners
(its affiliate and its employee; once when the same), stored in the same Referral.stat_kept
(dashboard.selectors.sales reads it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection, models, transaction

from tracking.models import (
    NO_PREVIOUS_DAY,
    CohortStat,
    DailyCustomerStat,
    MonthlySalesStat,
    Referral,
    ReferralStatDue,
)

PAYING = "paying"

# Retention at 3 / 6 / 12 months (the program dashboard's, bucketed in CohortStat): a
# customer is "still paying after N months" when it has a kept payment (not refunded in
# full, dispute not lost) on a UTC day at least RETENTION_DAYS[N] − RETENTION_GRACE_DAYS
# days after its first kept payment's day. The grace absorbs billing-day drift (a monthly
# renewal lands 89–92 days after the first payment at month 3, the month-2 one at 59–62, so
# 83 days separates them; an annual renewal at 365 counts at 12 months). Only customers
# whose first kept payment is at least RETENTION_DAYS[N] days before today are counted at N
# months (the others could not have got there yet): that part is the reader's, by today.
RETENTION_DAYS = {3: 90, 6: 180, 12: 365}
RETENTION_GRACE_DAYS = 7


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
    # The referral's affiliate and the UTC days of its kept payments (the counters' share).
    affiliate_id: int | None = None
    kept_days: tuple[date, ...] = ()
    # Its employee, and (first day of a UTC month, program amounts of its payments that
    # month before refunds): the sales counter's share, each earner's.
    employee_id: int | None = None
    monthly_sales: tuple[tuple[date, int], ...] = ()


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


def kept_months(first: date, last: date) -> int:
    """CohortStat.kept_months of a customer whose kept payments span first … last."""
    months = 0
    for n, days in RETENTION_DAYS.items():
        if (last - first).days >= days - RETENTION_GRACE_DAYS:
            months = n
    return months


CounterKeys = tuple[list[tuple[int, date, date]], tuple[int, date, int] | None]


def contribution(affiliate_id: int | None, days: Sequence[date]) -> CounterKeys:
    """What one customer with kept payments on these UTC days adds to the counters: its
    DailyCustomerStat keys (affiliate, day, previous kept day) and its CohortStat key
    (affiliate, first day, kept months), one customer each; nothing without an affiliate."""
    ordered = sorted(set(days))
    if affiliate_id is None or not ordered:
        return [], None
    paying = [
        (affiliate_id, day, previous)
        for previous, day in zip((NO_PREVIOUS_DAY, *ordered[:-1]), ordered, strict=True)
    ]
    return paying, (affiliate_id, ordered[0], kept_months(ordered[0], ordered[-1]))


def stored_share(value: Any) -> tuple[int | None, list[date]]:
    """(affiliate id, kept days) of a Referral.stat_kept value."""
    if not value or "affiliate" not in value:
        return None, []
    return value["affiliate"], [date.fromisoformat(d) for d in value["days"]]


def earners(affiliate_id: int | None, employee_id: int | None) -> list[int]:
    """Who a referral's payments count as sales for: its affiliate and its employee."""
    return sorted({pk for pk in (affiliate_id, employee_id) if pk is not None})


def stored_sales(value: Any) -> tuple[list[int], dict[date, int]]:
    """(earners, {month: sales}) of a Referral.stat_kept value; nothing for a share stored
    before the sales counter existed (tracking migration 0015 marked those due)."""
    if not value or not value.get("sales"):
        return [], {}
    months = {date.fromisoformat(m): n for m, n in value["sales"].items()}
    return list(value["earners"]), months


def _kept_value(row: ReferralSummary) -> dict[str, Any] | None:
    value: dict[str, Any] = {}
    if row.affiliate_id is not None and row.kept_days:
        days = sorted(set(row.kept_days))
        value |= {"affiliate": row.affiliate_id, "days": [d.isoformat() for d in days]}
    sales = {month.isoformat(): n for month, n in sorted(row.monthly_sales) if n}
    who = earners(row.affiliate_id, row.employee_id)
    if sales and who:
        value |= {"earners": who, "sales": sales}
    return value or None


def _add(
    model: type[models.Model], keys: tuple[str, ...], deltas: Counter, column: str = "customers"
) -> None:
    """`column` += delta per key (upsert), then drop the rows left at zero."""
    items = [(key, n) for key, n in deltas.items() if n]
    if not items:
        return
    table = model._meta.db_table
    columns = ", ".join((*keys, column))
    adapt = connection.ops.adapt_datefield_value
    row = "(" + ", ".join(["%s"] * (len(keys) + 1)) + ")"
    with connection.cursor() as cursor:
        for i in range(0, len(items), 500):
            chunk = items[i : i + 500]
            params: list[Any] = []
            for key, n in chunk:
                params += [adapt(v) if isinstance(v, date) else v for v in key]
                params.append(n)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(chunk))} "  # noqa: S608 (fixed names)
                f"ON CONFLICT ({', '.join(keys)}) DO UPDATE "
                f"SET {column} = {table}.{column} + excluded.{column}",
                params,
            )
    model._default_manager.filter(
        **{column: 0},
        affiliate_id__in={key[0] for key, _ in items},
        **{f"{keys[1]}__in": {key[1] for key, _ in items}},
    ).delete()


def set_referral_stats(*, rows: Iterable[ReferralSummary]) -> int:
    """Write the summaries: only the stat_* columns (the referral's own are left alone), and
    move each referral's share of the customer counters from its stored one to its new one,
    in one transaction (the stored shares are read under a row lock, so two writers of one
    referral cannot both take out the same share)."""
    rows = list({row.referral_id: row for row in rows}.values())  # one share per referral
    paying: Counter = Counter()
    cohorts: Counter = Counter()
    sales: Counter = Counter()

    def count(affiliate_id: int | None, days: Sequence[date], sign: int) -> None:
        keys, cohort = contribution(affiliate_id, days)
        for key in keys:
            paying[key] += sign
        if cohort is not None:
            cohorts[cohort] += sign

    def count_sales(who: Iterable[int], months: dict[date, int], sign: int) -> None:
        for earner in who:
            for month, n in months.items():
                sales[(earner, month)] += sign * n

    with transaction.atomic():
        ids = [row.referral_id for row in rows]
        for i in range(0, len(ids), 1000):
            for stored in (
                Referral.objects.select_for_update()
                .filter(pk__in=ids[i : i + 1000])
                .order_by("pk")  # locks taken in one order
                .values_list("stat_kept", flat=True)
            ):
                count(*stored_share(stored), -1)
                count_sales(*stored_sales(stored), -1)
        objs = []
        for row in rows:
            obj = Referral(pk=row.referral_id)
            for column, attr in FIELDS.items():
                setattr(obj, column, getattr(row, attr))
            obj.stat_kept = _kept_value(row)
            count(row.affiliate_id, row.kept_days, 1)
            count_sales(*stored_sales(obj.stat_kept), 1)
            objs.append(obj)
        Referral.objects.bulk_update(objs, fields=[*FIELDS, "stat_kept"], batch_size=500)
        _add(DailyCustomerStat, ("affiliate_id", "day", "previous"), paying)
        _add(CohortStat, ("affiliate_id", "first_day", "kept_months"), cohorts)
        _add(MonthlySalesStat, ("affiliate_id", "month"), sales, column="sales")
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
