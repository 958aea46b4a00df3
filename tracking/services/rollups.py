"""Daily rollups: what dashboards read instead of the raw rows.

Click and signup columns are recomputed from the raw rows (today and yesterday, every 30 s);
the money columns are written for the commissions app, which marks the (affiliate, day)
pairs whose money changed (mark_daily_money_due) and has them recomputed
(refresh_due_daily_money) with a callback it supplies, since tracking must not import it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet, Sum

from tracking.models import (
    Click,
    DailyPathStat,
    DailyReferrerStat,
    DailyStat,
    DailyStatMoneyDue,
    MonthlyPathStat,
    MonthlyReferrerStat,
    Referral,
)


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def refresh_rollups_for_day(day: date) -> int:
    """Recompute one UTC day's click and signup columns from the raw rows (GROUP BY + upsert).
    Idempotent; the money columns are left as they are. Returns rows upserted.

    Unique clicks: distinct visitor hashes per affiliate per UTC day; the hash salt rotates
    daily, so "the same visitor within 24 h" is counted within the same UTC day."""
    start, end = _day_bounds(day)
    day_clicks = Click.objects.filter(at__gte=start, at__lt=end)
    honoured = Q(honoured=True)
    stats: dict[int, dict] = {}
    for row in day_clicks.values("affiliate_id").annotate(
        c=Count("id", filter=honoured),
        u=Count("visitor_hash", filter=honoured, distinct=True),
        r=Count("id", filter=Q(honoured=False)),
    ):
        stats[row["affiliate_id"]] = {
            "clicks": row["c"],
            "unique_clicks": row["u"],
            "rejected_clicks": row["r"],
        }
    signups = (
        Referral.objects.filter(created_at__gte=start, created_at__lt=end, affiliate__isnull=False)
        .values("affiliate_id")
        .annotate(n=Count("id"))
    )
    for signup in signups:
        stats.setdefault(signup["affiliate_id"], {})["signups"] = signup["n"]
    columns = ["clicks", "unique_clicks", "rejected_clicks", "signups"]
    DailyStat.objects.bulk_create(
        [
            DailyStat(affiliate_id=aff, day=day, **{c: v.get(c, 0) for c in columns})
            for aff, v in stats.items()
        ],
        update_conflicts=True,
        unique_fields=["affiliate", "day"],
        update_fields=columns,
        batch_size=1000,
    )

    # Signups per landing path / referrer domain: through the click the cookie named.
    signup_clicks = dict(
        Referral.objects.filter(
            created_at__gte=start,
            created_at__lt=end,
            affiliate__isnull=False,
            click_id__isnull=False,
        ).values_list("click_id", "affiliate_id")
    )
    by_path: Counter = Counter()
    by_domain: Counter = Counter()
    for click_id, aff, path, domain in Click.objects.filter(pk__in=list(signup_clicks)).values_list(
        "pk", "affiliate_id", "landing_path", "referrer_domain"
    ):
        if signup_clicks.get(click_id) == aff:
            by_path[(aff, path)] += 1
            by_domain[(aff, domain)] += 1

    touched = _upsert_breakdown(DailyPathStat, "path", "landing_path", day, day_clicks, by_path)
    touched |= _upsert_breakdown(
        DailyReferrerStat, "domain", "referrer_domain", day, day_clicks, by_domain
    )
    if touched:
        refresh_monthly_breakdowns(month=day, affiliate_ids=touched)
    return len(stats)


MONTHLY = (
    (DailyPathStat, MonthlyPathStat, "path"),
    (DailyReferrerStat, MonthlyReferrerStat, "domain"),
)


def month_bounds(day: date) -> tuple[date, date]:
    """The first and the last day of `day`'s calendar month."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def refresh_monthly_breakdowns(*, month: date, affiliate_ids: Iterable[int] | None = None) -> int:
    """Rewrite the MonthlyPathStat and MonthlyReferrerStat rows of `month`'s calendar month
    (of these affiliates, or all) as the sums of its daily rows: a GROUP BY and an upsert
    each, idempotent. Daily rows are only ever upserted, so every monthly key still has its
    daily ones and the upsert leaves nothing stale. Called by refresh_rollups_for_day for the
    affiliates whose breakdowns it wrote; anyone writing daily breakdowns another way (the
    bench, test fixtures) calls it after. Returns monthly rows written."""
    first, last = month_bounds(month)
    ids = None if affiliate_ids is None else sorted(set(affiliate_ids))
    written = 0
    for daily, monthly, key in MONTHLY:
        rows = daily.objects.filter(day__gte=first, day__lte=last)
        if ids is not None:
            rows = rows.filter(affiliate_id__in=ids)
        objs: list[Any] = [
            monthly(
                affiliate_id=row["affiliate_id"],
                month=first,
                **{key: row[key]},
                clicks=row["c"],
                unique_clicks=row["u"],
                signups=row["s"],
            )
            for row in rows.values("affiliate_id", key)
            .annotate(c=Sum("clicks"), u=Sum("unique_clicks"), s=Sum("signups"))
            .order_by()
        ]
        monthly._default_manager.bulk_create(
            objs,
            update_conflicts=True,
            unique_fields=["affiliate", "month", key],
            update_fields=["clicks", "unique_clicks", "signups"],
            batch_size=1000,
        )
        written += len(objs)
    return written


# A per-day breakdown of DailyStat by one click column (landing page, referring domain).
_Breakdown = TypeVar("_Breakdown", DailyPathStat, DailyReferrerStat)


def _upsert_breakdown(
    model: type[_Breakdown],
    key: str,
    column: str,
    day: date,
    day_clicks: QuerySet[Click],
    signups: Counter,
) -> set[int]:
    """Honoured clicks and unique visitors per (affiliate, `column` value) of the day, and
    the signups through them, upserted as `model` rows keyed by `key`. Returns the
    affiliates written."""
    rows = {
        (r["affiliate_id"], r[column]): r
        for r in day_clicks.filter(honoured=True)
        .values("affiliate_id", column)
        .annotate(c=Count("id"), u=Count("visitor_hash", distinct=True))
    }
    objs: list[_Breakdown] = []
    for ident in set(rows) | set(signups):
        r = rows.get(ident, {"c": 0, "u": 0})
        objs.append(
            model(
                affiliate_id=ident[0],
                day=day,
                **{key: ident[1]},
                clicks=r["c"],
                unique_clicks=r["u"],
                signups=signups.get(ident, 0),
            )
        )
    model.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=["affiliate", "day", key],
        update_fields=["clicks", "unique_clicks", "signups"],
        batch_size=1000,
    )
    return {obj.affiliate_id for obj in objs}


def refresh_rollups(*, now: datetime, days: int = 2) -> int:
    """Today's and yesterday's rollups (beat, every 30 s): dashboards lag < 1 minute."""
    today = now.astimezone(UTC).date()
    return sum(refresh_rollups_for_day(today - timedelta(days=i)) for i in range(days))


def set_daily_money(*, rows: list[tuple[int, date, int, int, int]]) -> int:
    """Upsert the money columns written by the commissions app: each row is
    (affiliate_id, day, first_payments, revenue, commission), money in minor units of the
    program currency. Click and signup columns are left alone."""
    objs = [
        DailyStat(
            affiliate_id=aff, day=day, first_payments=fp, revenue=revenue, commission=commission
        )
        for aff, day, fp, revenue, commission in rows
    ]
    DailyStat.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=["affiliate", "day"],
        update_fields=["first_payments", "revenue", "commission"],
        batch_size=1000,
    )
    return len(objs)


# A `compute` callback of refresh_due_daily_money: the money of the given (affiliate, day)
# pairs as set_daily_money rows. Supplied by the commissions app (tracking must not import it).
MoneyRows = Callable[[set[tuple[int, date]]], list[tuple[int, date, int, int, int]]]

# Arbitrary constant naming the PostgreSQL advisory lock of the money refresh (held to commit).
MONEY_REFRESH_LOCK_KEY = 7_411_020_002


def mark_daily_money_due(*, pairs: Iterable[tuple[int | None, date]]) -> int:
    """Mark (affiliate, UTC day) rollups whose money changed, in the caller's transaction:
    the mark commits (or rolls back) with the change itself, so no change is ever missed
    and none is announced that did not happen. Pairs without an affiliate are ignored."""
    due = {(a, d) for a, d in pairs if a is not None}
    DailyStatMoneyDue.objects.bulk_create(
        [DailyStatMoneyDue(affiliate_id=a, day=d) for a, d in sorted(due)], batch_size=1000
    )
    return len(due)


def refresh_due_daily_money(*, compute: MoneyRows, limit: int = 5000) -> tuple[int, bool]:
    """Recompute the money columns of up to `limit` marked (affiliate, day) rollups, in one
    transaction, and clear exactly the marks it read: a mark committed meanwhile (even one
    with a lower id, its transaction having started earlier) stays for the next run, and
    the recompute reads every change whose mark it read (the mark commits with its change).
    Runs are serialised (PostgreSQL advisory lock; SQLite has one writer): two runs
    interleaving could otherwise write an older recompute over a newer one. Returns
    (pairs written, more marks may be waiting)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [MONEY_REFRESH_LOCK_KEY])
                if not cursor.fetchone()[0]:
                    return 0, False  # another run is at it; what it misses stays marked
        marks = list(
            DailyStatMoneyDue.objects.order_by("pk").values_list("pk", "affiliate_id", "day")[
                :limit
            ]
        )
        if not marks:
            return 0, False
        pairs = {(a, d) for _, a, d in marks}
        rows = {(a, d): (fp, rev, com) for a, d, fp, rev, com in compute(pairs)}
        # A marked day with no money left (e.g. its only entry declined) is written as zeros.
        set_daily_money(
            rows=[(a, d, *rows.get((a, d), (0, 0, 0))) for a, d in sorted(pairs | set(rows))]
        )
        ids = [pk for pk, _, _ in marks]
        for i in range(0, len(ids), 1000):
            DailyStatMoneyDue.objects.filter(pk__in=ids[i : i + 1000]).delete()
        return len(pairs), len(marks) == limit
