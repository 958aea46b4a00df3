"""dashboard.charts: round ticks, buckets, geometry in integers, and the include's HTML."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from affiliates.roles import SUPPORT
from dashboard import charts

START = date(2026, 11, 1)


def _days(n: int) -> list[date]:
    return [START + timedelta(days=i) for i in range(n)]


@pytest.mark.parametrize(
    ("top", "minimum", "step"),
    [
        (0, 1, 1),
        (1, 1, 1),
        (5, 1, 1),
        (6, 1, 2),
        (17, 1, 5),
        (23, 1, 5),
        (26, 1, 10),
        (999, 1, 200),
        (1001, 1, 500),
        # money in cents: never a step under one whole unit (100 cents)
        (30, 100, 100),
        (105_800, 100, 50_000),
    ],
)
def test_nice_step_is_the_smallest_1_2_5_step_that_reaches_the_top(top, minimum, step):
    assert charts.nice_step(top, minimum=minimum) == step


def test_ticks_are_round_and_the_top_tick_covers_the_busiest_day():
    # Given 30 days whose busiest has 17 clicks

    chart = charts.line_chart(
        days=_days(30), series=[charts.Series("Clicks", [17] + [0] * 29)], title="Clicks"
    )

    # Then the ticks step by 5 from 0 to 20 (17 / 5 ticks → step 5, ceiling 20)
    assert [t["value"] for t in chart["ticks"]] == [0, 5, 10, 15, 20]
    # and 17 sits at 1000 − 17 × 1000 // 20 = 150 viewBox units from the top
    assert chart["series"][0]["points"][0]["y"] == 150
    assert chart["ticks"][-1]["y"] == 0
    assert chart["ticks"][0]["bottom_pct"] == "0.00"
    assert chart["ticks"][2]["bottom_pct"] == "50.00"


def test_money_ticks_are_whole_units_and_use_the_money_filter():
    # Given one day with USD 1,058.00 earned = 105,800 cents

    chart = charts.bar_chart(
        days=_days(7),
        series=[charts.Series("Earned", [105_800, 0, 0, 0, 0, 0, 0])],
        title="Earnings",
        money_currency="USD",
    )
    html = render_to_string("dashboard/_chart.html", {"chart": chart})

    # Then the step is USD 500 (105,800 / 5 = 21,160 → next 1-2-5 step 50,000 cents)
    assert [t["value"] for t in chart["ticks"]] == [0, 50_000, 100_000, 150_000]
    assert "USD 1,500.00" in html
    assert "USD 1,058.00" in html  # the legend total, a tooltip and the table cell


def test_negative_days_extend_the_axis_below_zero():
    chart = charts.bar_chart(
        days=_days(3), series=[charts.Series("Earned", [700, -300, 0])], title="E"
    )

    values = [t["value"] for t in chart["ticks"]]
    assert values[0] < 0 < values[-1]
    assert 0 in values
    bar = chart["series"][0]["bars"][1]
    # The refund's bar hangs down from the zero line.
    assert bar["y"] == chart["zero_y"]
    assert bar["h"] > 0


def test_x_labels_are_at_most_twelve_and_every_other_is_minor():
    chart = charts.line_chart(days=_days(90), series=[charts.Series("C", [1] * 90)], title="C")

    labels = chart["x_labels"]
    assert 6 <= len(labels) <= charts.MAX_X_LABELS
    assert labels[0]["day"] == START
    assert [lab["minor"] for lab in labels[:4]] == [False, True, False, True]
    # On a phone (minor hidden) at most 6 labels remain.
    assert sum(not lab["minor"] for lab in labels) <= 6


def test_long_ranges_are_summed_into_weeks_then_months():
    # 100 days → 15 weeks (2 days, then 14 full weeks ending on the last day); sums exact.
    weekly = charts.line_chart(days=_days(100), series=[charts.Series("C", [1] * 100)], title="C")
    assert weekly["bucket"] == "week"
    assert len(weekly["rows"]) == 15
    assert [r["values"][0] for r in weekly["rows"]][:2] == [2, 7]
    assert weekly["rows"][-1]["first"] == START + timedelta(days=93)  # days 93…99
    assert weekly["series"][0]["total"] == 100

    # 800 days from 1 Nov 2026 → Nov 2026 … Jan 2029: 27 calendar months (the last partial).
    monthly = charts.line_chart(days=_days(800), series=[charts.Series("C", [1] * 800)], title="C")
    assert monthly["bucket"] == "month"
    assert monthly["rows"][0]["values"] == [30]  # November has 30 days
    assert monthly["rows"][1]["values"] == [31]  # December 31
    assert sum(r["values"][0] for r in monthly["rows"]) == 800


def test_a_series_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError):
        charts.line_chart(days=_days(3), series=[charts.Series("C", [1, 2])], title="C")


def test_the_include_has_legend_tooltips_accessible_label_and_table():
    chart = charts.line_chart(
        days=_days(2),
        series=[charts.Series("Clicks", [3, 4]), charts.Series("Signups", [1, 0], kind="bar")],
        title="Traffic",
        chart_id="traffic",
    )

    html = render_to_string("dashboard/_chart.html", {"chart": chart})

    assert 'id="chart-traffic"' in html
    assert 'role="img"' in html
    assert 'aria-label="Traffic: Clicks, Signups, 2026-11-01 to 2026-11-02"' in html
    assert html.count("<polyline") == 1
    assert html.count("<rect") == 2
    assert "<title>Nov. 1, 2026: Clicks 3</title>" in html
    assert "<title>Nov. 2, 2026: Signups 0</title>" in html
    assert "<details>" in html and "<table" in html
    # legend totals: 3 + 4 clicks, 1 + 0 signups
    assert "Clicks <strong>7</strong>" in html
    assert "Signups <strong>1</strong>" in html


def test_an_empty_range_says_so():
    chart = charts.line_chart(days=_days(7), series=[charts.Series("C", [0] * 7)], title="C")

    html = render_to_string("dashboard/_chart.html", {"chart": chart})

    assert chart["empty"]
    assert "Nothing in this period yet." in html


def test_the_zero_line_is_unlabelled_unless_the_axis_goes_below_it():
    positive = charts.line_chart(days=_days(2), series=[charts.Series("C", [3, 4])], title="C")
    negative = charts.bar_chart(
        days=_days(2), series=[charts.Series("E", [300, -200])], title="E", money_currency="USD"
    )

    plain = render_to_string("dashboard/_chart.html", {"chart": positive})
    signed = render_to_string("dashboard/_chart.html", {"chart": negative})

    # 0…5 by 1 (4 / 5 ticks → step 1): labels 1…5, no "0"
    assert plain.count('class="chart-y"') == len(positive["ticks"]) - 1
    assert ">0</span>" not in plain
    assert ">USD 0.00</span>" in signed


@pytest.mark.django_db
def test_a_page_with_two_charts_links_the_chart_styles_once(staff_client):
    html = staff_client(SUPPORT).get("/dashboard/program/").content.decode()

    assert html.count('<figure class="chart') == 2  # the money and the activity charts
    assert html.count("ambassador/charts.css") == 1
    assert ".chart-plot {" not in html  # no per-chart <style> copies
    with open(finders.find("ambassador/charts.css")) as css:
        assert ".chart-plot {" in css.read()
