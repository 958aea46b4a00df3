"""Charts for the dashboards: server-rendered SVG, no JavaScript, nothing vendored.

Decision (issue 11 allows SVG or a vendored Chart.js): server-rendered SVG. It works offline
and with JavaScript off, needs nothing installed or refreshed from npm, is testable as HTML,
and the figures in it are the selectors' integers, so a chart cannot disagree with the tiles.

API (stable; other pages call it)::

    from dashboard import charts

    chart = charts.line_chart(
        title=_("Clicks"),
        days=period.each_day(),                       # list[date], oldest first
        series=[
            charts.Series(_("Clicks"), clicks),       # one int per day, same length as days
            charts.Series(_("Unique clicks"), uniques),
        ],
        money_currency=None,                          # or "USD": values are minor units
        chart_id="clicks",                            # optional; DOM id "chart-clicks"
    )
    # bar_chart(...) takes the same arguments and draws its series as bars.
    # Series(label, values, kind="bar"|"line") overrides the chart's default per series,
    # so bars and a line can share one chart.

and in the template::

    {% include "dashboard/_chart.html" with chart=chart %}

What the include draws: a title, a legend (with each series' total for the range), a y axis
with round tick values (1-2-5 steps; money ticks are whole major units, shown with the
`money` filter; the zero line is left unlabelled unless the axis goes below it), x axis
date labels (at most 12; every other one hidden when the chart is narrower than 560 px, a
container query, so a half-width card counts as narrow: at most 6 on a phone), one
`<title>` tooltip per point or bar, `role="img"` with an aria-label, and a `<details>`
table with every figure as the fallback.

Long ranges are summed into buckets so the SVG stays small: up to 92 days one point a day,
up to 732 days one per 7 days (counted back from the last day), beyond that one per calendar
month. All series are per-day flows (clicks, signups, money earned), so summing is exact.

Geometry: the plot is an SVG whose viewBox is `slots × SLOT` wide and `HEIGHT` high, drawn
with preserveAspectRatio="none" so it fills the card at any width; lines and dots use
vector-effect="non-scaling-stroke" so they keep their thickness. The axis labels are HTML
laid over it (positions in percent), so text stays at the page's font size at 390 px and at
1366 px instead of scaling with the drawing. Every coordinate is an integer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Literal

from django.utils.formats import date_format, get_format
from django.utils.translation import get_language, gettext, pgettext

from config.money import exponent

Kind = Literal["line", "bar"]

SLOT = 100  # viewBox units per bucket (day, week or month)
HEIGHT = 1000  # viewBox units of the plot's height
MAX_TICKS = 5  # y grid lines above zero, at most
MAX_X_LABELS = 12
DAILY_UP_TO = 92
WEEKLY_UP_TO = 732
DENSE_OVER = 31
PALETTE = 4  # CSS classes chart-s0 … chart-s3 in _chart.html


@dataclass(frozen=True)
class Series:
    """One line or set of bars: a label for the legend and one integer per day (money in
    minor units of the chart's currency). kind None means the chart's default."""

    label: str
    values: list[int]
    kind: Kind | None = None


def line_chart(
    *,
    days: list[date],
    series: list[Series],
    title: str,
    money_currency: str | None = None,
    chart_id: str | None = None,
) -> dict[str, Any]:
    """A chart whose series are lines (unless a Series says kind="bar"). See the module
    docstring for the dict's use; its keys are the template's business."""
    return _chart(
        days=days,
        series=series,
        title=title,
        money_currency=money_currency,
        chart_id=chart_id,
        default_kind="line",
    )


def bar_chart(
    *,
    days: list[date],
    series: list[Series],
    title: str,
    money_currency: str | None = None,
    chart_id: str | None = None,
) -> dict[str, Any]:
    """A chart whose series are bars, grouped side by side per day (unless kind="line")."""
    return _chart(
        days=days,
        series=series,
        title=title,
        money_currency=money_currency,
        chart_id=chart_id,
        default_kind="bar",
    )


def nice_step(top: int, *, minimum: int = 1, max_ticks: int = MAX_TICKS) -> int:
    """The smallest 1-2-5 × 10ⁿ step (at least `minimum`) that reaches `top` within
    `max_ticks` steps. Integers only."""
    magnitude = 1
    while True:
        for mult in (1, 2, 5):
            step = mult * magnitude
            if step >= minimum and step * max_ticks >= top:
                return step
        magnitude *= 10


def _buckets(days: list[date]) -> tuple[str, list[tuple[date, date, list[int]]]]:
    """(bucket kind, [(first day, last day, indexes into days)]) for the range."""
    if len(days) <= DAILY_UP_TO:
        return "day", [(d, d, [i]) for i, d in enumerate(days)]
    if len(days) <= WEEKLY_UP_TO:
        # Weeks counted back from the last day, so the latest bucket is a whole 7 days and
        # a short one, if any, is the first.
        weeks = []
        for stop in range(len(days), 0, -7):
            first = max(stop - 7, 0)
            weeks.append((days[first], days[stop - 1], list(range(first, stop))))
        return "week", weeks[::-1]
    months: list[tuple[date, date, list[int]]] = []
    for i, d in enumerate(days):
        if months and (months[-1][0].year, months[-1][0].month) == (d.year, d.month):
            months[-1][2].append(i)
            months[-1] = (months[-1][0], d, months[-1][2])
        else:
            months.append((d, d, [i]))
    return "month", months


def _when(bucket: str, first: date, last: date) -> str:
    """The bucket in words, in the active language's date formats."""
    formats = (get_format("DATE_FORMAT"), get_format("YEAR_MONTH_FORMAT"))
    return _when_in(bucket, first, last, get_language(), formats)


@lru_cache(maxsize=4096)
def _when_in(
    bucket: str, first: date, last: date, _language: str | None, _formats: tuple[str, str]
) -> str:
    # Cached per language and format: date_format is slow, and an overview draws the same
    # buckets in three charts (366 days: 159 labels).
    if bucket == "day":
        return date_format(first, "DATE_FORMAT")
    if bucket == "month":
        return date_format(first, "YEAR_MONTH_FORMAT")
    return gettext("%(first)s to %(last)s") % {
        "first": date_format(first, "DATE_FORMAT"),
        "last": date_format(last, "DATE_FORMAT"),
    }


def _pct(numerator: int, denominator: int) -> str:
    """numerator / denominator as a CSS percentage with two decimals, integer arithmetic."""
    hundredths = numerator * 10_000 // denominator if denominator else 0
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def _chart(
    *,
    days: list[date],
    series: list[Series],
    title: str,
    money_currency: str | None,
    chart_id: str | None,
    default_kind: Kind,
) -> dict[str, Any]:
    for s in series:
        if len(s.values) != len(days):
            raise ValueError(f"series {s.label!r} has {len(s.values)} values for {len(days)} days")
    bucket, groups = _buckets(days)
    whens = [_when(bucket, first, last) for first, last, _ in groups]
    slots = max(len(groups), 1)
    width = slots * SLOT
    summed = [[sum(int(s.values[i]) for i in idx) for _, _, idx in groups] for s in series]

    # y axis: from 0 (or the lowest negative, for refunds) to a round top.
    minimum = 10 ** exponent(money_currency) if money_currency else 1
    high = max([0, *(v for vals in summed for v in vals)])
    low = min([0, *(v for vals in summed for v in vals)])
    step = nice_step(max(high - low, 1), minimum=minimum)
    bottom = (low // step) * step  # floor to a step (0 unless there are negatives)
    top = max(-(-high // step) * step, bottom + step)  # ceiling to a step, above bottom
    span = top - bottom

    def y(value: int) -> int:
        return HEIGHT - (value - bottom) * HEIGHT // span

    ticks = [
        {"value": v, "y": y(v), "bottom_pct": _pct(v - bottom, span)}
        for v in range(bottom, top + 1, step)
    ]

    # x axis: at most MAX_X_LABELS labels, evenly spaced; odd ones are "minor" (hidden on
    # narrow screens).
    every = -(-len(groups) // MAX_X_LABELS) if groups else 1
    x_labels = []
    for n, g in enumerate(range(0, len(groups), every)):
        centre = g * SLOT + SLOT // 2
        pct = centre * 100 // width
        x_labels.append(
            {
                "day": groups[g][0],
                "left_pct": _pct(centre, width),
                "minor": n % 2 == 1,
                "align": "start" if pct < 8 else "end" if pct > 92 else "middle",
            }
        )

    kinds = [s.kind or default_kind for s in series]
    bar_count = kinds.count("bar")
    bar_width = (SLOT * 8 // 10) // max(bar_count, 1)
    drawn = []
    bar_index = 0
    for n, (s, kind, values) in enumerate(zip(series, kinds, summed, strict=True)):
        item: dict[str, Any] = {
            "label": s.label,
            "kind": kind,
            "css": f"chart-s{n % PALETTE}",
            "total": sum(values),
        }
        if kind == "bar":
            left = SLOT // 10 + bar_index * bar_width
            bar_index += 1
            item["bars"] = [
                {
                    "x": g * SLOT + left,
                    "y": min(y(v), y(0)),
                    "w": max(bar_width - 2, 1),
                    "h": abs(y(v) - y(0)),
                    "value": v,
                    "when": whens[g],
                }
                for g, v in enumerate(values)
            ]
        else:
            points = [
                {
                    "x": g * SLOT + SLOT // 2,
                    "y": y(v),
                    "value": v,
                    "when": whens[g],
                }
                for g, v in enumerate(values)
            ]
            item["points"] = points
            item["polyline"] = " ".join(f"{p['x']},{p['y']}" for p in points)
        drawn.append(item)

    rows = [
        {"first": first, "when": whens[g], "values": [vals[g] for vals in summed]}
        for g, (first, _, _) in enumerate(groups)
    ]
    labels = ", ".join(s.label for s in series)
    if days:
        aria = gettext("%(title)s: %(series)s, %(start)s to %(end)s") % {
            "title": title,
            "series": labels,
            "start": days[0].isoformat(),
            "end": days[-1].isoformat(),
        }
    else:
        aria = title
    return {
        "id": chart_id or "",
        "title": title,
        "aria_label": aria,
        "money_currency": money_currency,
        "bucket": bucket,
        # Translators: a Django date format for the chart's x axis labels, kept short
        # (https://docs.djangoproject.com/en/stable/ref/templates/builtins/#date).
        "date_format": pgettext("chart axis date", "M j"),
        "width": width,
        "height": HEIGHT,
        "zero_y": y(0),
        "ticks": ticks,
        "x_labels": x_labels,
        "series": drawn,
        "rows": rows,
        "empty": all(v == 0 for vals in summed for v in vals),
        # Over a month of points: a line's dots show only under the pointer.
        "dense": len(groups) > DENSE_OVER,
    }


def day_range(start: date, end: date) -> list[date]:
    """Every day from start to end, both included (a helper for callers without a Period)."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
