"""The period a dashboard page shows, read from its query string.

`?range=today|7|30|90|all|custom` (`custom` with `from` and `to`, ISO dates, inclusive),
UTC days. The older `?days=7|30|90` still works. Anything missing or malformed means the
last 30 days; a custom range is clamped to at most MAX_CUSTOM_DAYS and never ends after
today. "All time" starts at the program's first rollup day (or today when there is none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Min

from tracking.models import DailyStat

PERIOD_CHOICES = (7, 30, 90)
DEFAULT_PERIOD_DAYS = 30
# Ten years of days: a chart or a table per day stays bounded whatever a URL asks for.
MAX_CUSTOM_DAYS = 3660
RANGES = ("today", "7", "30", "90", "all", "custom")


@dataclass(frozen=True)
class Period:
    """The UTC days from `start` to `end`, both included. `key` is the range it came from
    ("today", "7", "30", "90", "all" or "custom")."""

    days: int
    start: date
    end: date
    key: str = "30"

    def each_day(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def query(self) -> str:
        """The query string that selects this period again (for links and exports)."""
        if self.key == "custom":
            return f"range=custom&from={self.start.isoformat()}&to={self.end.isoformat()}"
        return f"range={self.key}"


def _last(days: int, today: date, key: str | None = None) -> Period:
    return Period(
        days=days, start=today - timedelta(days=days - 1), end=today, key=key or str(days)
    )


def period_from_param(raw: str | None, *, today: date) -> Period:
    """?days=7|30|90; anything else (missing, junk, another number) means 30."""
    try:
        days = int(raw) if raw is not None else DEFAULT_PERIOD_DAYS
    except ValueError:
        days = DEFAULT_PERIOD_DAYS
    if days not in PERIOD_CHOICES:
        days = DEFAULT_PERIOD_DAYS
    return _last(days, today)


def _iso(raw: Any) -> date | None:
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        return None


def first_day(*, affiliate_id: int | None = None) -> date | None:
    qs = DailyStat.objects.all()
    if affiliate_id is not None:
        qs = qs.filter(affiliate_id=affiliate_id)
    return qs.aggregate(first=Min("day"))["first"]


def period_from_query(query: Any, *, today: date, affiliate_id: int | None = None) -> Period:
    """The period a request's GET parameters ask for (see the module docstring)."""
    key = query.get("range")
    if key is None:
        return period_from_param(query.get("days"), today=today)
    if key == "today":
        return _last(1, today, "today")
    if key in ("7", "30", "90"):
        return _last(int(key), today)
    if key == "all":
        start = min(first_day(affiliate_id=affiliate_id) or today, today)
        return Period(days=(today - start).days + 1, start=start, end=today, key="all")
    if key == "custom":
        given_start, given_end = _iso(query.get("from")), _iso(query.get("to"))
        if given_start is None or given_end is None:
            return _last(DEFAULT_PERIOD_DAYS, today)
        start, end = sorted((given_start, given_end))
        # Never past today (a swapped pair could put a future "from" at the end), and at
        # most MAX_CUSTOM_DAYS long (counted on ordinals: near 0001-01-01 a timedelta
        # subtraction would overflow).
        end = min(end, today)
        start = min(start, end)
        floor = date.fromordinal(max(1, end.toordinal() - (MAX_CUSTOM_DAYS - 1)))
        start = max(start, floor)
        return Period(days=(end - start).days + 1, start=start, end=end, key="custom")
    return _last(DEFAULT_PERIOD_DAYS, today)
