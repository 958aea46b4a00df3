"""Reads behind the affiliate's and the program's dashboards.

Every figure comes from the daily rollups (tracking.DailyStat, DailyPathStat,
DailyReferrerStat, and for whole months the monthly sums of the last two) or the ledger
selectors, never from the raw clicks, so each function is
one aggregate query whose cost does not grow with traffic (DESIGN.md, data flow step 7).
Rollup money is in minor units of settings.PROGRAM_CURRENCY; ledger money carries its own
currency.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, QuerySet, Sum

from affiliates.models import Affiliate
from commissions import ledger_rollups
from commissions.models import CommissionEntry
from commissions.selectors import list_entries
from dashboard.selectors.period import Period
from tracking.models import (
    DailyPathStat,
    DailyReferrerStat,
    DailyStat,
    MonthlyPathStat,
    MonthlyReferrerStat,
)
from tracking.services import month_bounds

TOTAL_FIELDS = ("clicks", "unique_clicks", "signups", "first_payments", "revenue", "commission")


def _daily_stats(period: Period, affiliate_id: int | None = None) -> QuerySet[DailyStat]:
    qs = DailyStat.objects.filter(day__gte=period.start, day__lte=period.end)
    if affiliate_id is not None:
        qs = qs.filter(affiliate_id=affiliate_id)
    return qs


def period_totals(*, period: Period, affiliate_id: int | None = None) -> dict[str, int]:
    """Sums over the period for one affiliate, or the whole program when affiliate_id is
    None. One query; zeros when there are no rows."""
    sums = _daily_stats(period, affiliate_id).aggregate(**{f: Sum(f) for f in TOTAL_FIELDS})
    return {f: sums[f] or 0 for f in TOTAL_FIELDS}


def daily_series(*, period: Period, affiliate_id: int) -> list[dict[str, Any]]:
    """One row per day of the period, oldest first, with every TOTAL_FIELDS figure; days
    without a rollup as zeros. One query."""
    rows = {
        row["day"]: row for row in _daily_stats(period, affiliate_id).values("day", *TOTAL_FIELDS)
    }
    empty = dict.fromkeys(TOTAL_FIELDS, 0)
    return [{**empty, **rows.get(day, {}), "day": day} for day in period.each_day()]


def whole_months(period: Period) -> tuple[date, date] | None:
    """(first, last) day of the run of whole calendar months inside the period, if any."""
    first = period.start
    if first.day != 1:
        first = month_bounds(first)[1] + timedelta(days=1)
    month_first, month_last = month_bounds(period.end)
    last = period.end if period.end == month_last else month_first - timedelta(days=1)
    return (first, last) if first < last else None


def _top(
    model: type[DailyPathStat] | type[DailyReferrerStat],
    key: str,
    *,
    period: Period,
    affiliate_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    months = whole_months(period)
    if months is not None:
        return _top_by_months(model, key, months, period, affiliate_id, limit)
    qs = model.objects.filter(day__gte=period.start, day__lte=period.end)
    if affiliate_id is not None:
        qs = qs.filter(affiliate_id=affiliate_id)
    rows = (
        qs.values(key)
        .annotate(clicks=Sum("clicks"), unique_clicks=Sum("unique_clicks"), signups=Sum("signups"))
        .order_by("-clicks", "-signups", key)[:limit]
    )
    return [{**row, "name": row[key]} for row in rows]


MONTHLY = {DailyPathStat: MonthlyPathStat, DailyReferrerStat: MonthlyReferrerStat}


def _top_by_months(
    model: type[DailyPathStat] | type[DailyReferrerStat],
    key: str,
    months: tuple[date, date],
    period: Period,
    affiliate_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """_top for a period holding whole months: their monthly rows (tracking's
    MonthlyPathStat / MonthlyReferrerStat, the daily rows summed) and the daily rows of the
    days before and after them, added up in one query. A year costs 12 months and at most
    60 days of rows per key instead of 365 days'."""
    q, adapt = connection.ops.quote_name, connection.ops.adapt_datefield_value
    mine = f" AND {q('affiliate_id')} = %s" if affiliate_id is not None else ""
    columns = ", ".join(q(c) for c in (key, "clicks", "unique_clicks", "signups"))
    parts: list[str] = []
    params: list[Any] = []
    first, last = months
    ranges = [
        (model, "day", period.start, first - timedelta(days=1)),
        (MONTHLY[model], "month", first, month_bounds(last)[0]),
        (model, "day", last + timedelta(days=1), period.end),
    ]
    for table, column, start, end in ranges:
        if start > end:
            continue
        parts.append(
            f"SELECT {columns} FROM {q(table._meta.db_table)} "  # noqa: S608 (model names)
            f"WHERE {q(column)} >= %s AND {q(column)} <= %s{mine}"
        )
        params += [adapt(start), adapt(end)]
        if affiliate_id is not None:
            params.append(affiliate_id)
    sql = (
        f"SELECT {q(key)}, SUM({q('clicks')}), SUM({q('unique_clicks')}), SUM({q('signups')}) "
        f"FROM ({' UNION ALL '.join(parts)}) AS breakdown GROUP BY {q(key)} "
        f"ORDER BY 2 DESC, 4 DESC, 1 LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        found = cursor.fetchall()
    return [
        {key: name, "clicks": c, "unique_clicks": u, "signups": s, "name": name}
        for name, c, u, s in found
    ]


def top_paths(
    *, period: Period, affiliate_id: int | None = None, limit: int = 5
) -> list[dict[str, Any]]:
    """Landing paths by clicks in the period: {name, clicks, unique_clicks, signups}."""
    return _top(DailyPathStat, "path", period=period, affiliate_id=affiliate_id, limit=limit)


def top_referrers(
    *, period: Period, affiliate_id: int | None = None, limit: int = 5
) -> list[dict[str, Any]]:
    """Referrer domains by clicks in the period ("" is direct traffic)."""
    return _top(DailyReferrerStat, "domain", period=period, affiliate_id=affiliate_id, limit=limit)


def top_affiliates(*, period: Period, limit: int = 10) -> list[dict[str, Any]]:
    """Affiliates by revenue in the period, with their clicks, signups and commission."""
    rows = (
        _daily_stats(period)
        .values("affiliate_id", "affiliate__username")
        .annotate(
            clicks=Sum("clicks"),
            signups=Sum("signups"),
            revenue=Sum("revenue"),
            commission=Sum("commission"),
        )
        .order_by("-revenue", "-commission", "affiliate__username")[:limit]
    )
    return [dict(row) for row in rows]


def affiliate_status_counts() -> list[tuple[str, int]]:
    """(status label, count) for every status, zeros included, in the model's order."""
    counts = dict(Affiliate.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return [(str(label), counts.get(value, 0)) for value, label in Affiliate.Status.choices]


def balances(*, affiliate_id: int) -> list[tuple[str, dict[str, int]]]:
    """The ledger's balances per currency ({pending, approved, in_payout, paid}; declined
    entries count nowhere), sorted by currency code: what commissions.selectors.balances_for
    sums from the entries, read from the ledger's day rollup instead (ledger_sums, all time:
    two queries over day rows, the days with a write not swept yet read live)."""
    states = CommissionEntry.BALANCE_STATES
    out: dict[str, dict[str, int]] = {}
    for row in ledger_rollups.ledger_sums(affiliate_id=affiliate_id, states=states):
        out.setdefault(row.currency, dict.fromkeys(states, 0))[row.state] += row.amount
    return sorted(out.items())


def latest_entries(*, affiliate_id: int, limit: int = 10) -> list[CommissionEntry]:
    return list(list_entries(affiliate_id=affiliate_id)[:limit])
