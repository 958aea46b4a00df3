"""The period picker on the overview: every range, a custom range, and junk never 500s."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dashboard.conftest import daily
from tests.factories import AffiliateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client):
    alice = AffiliateFactory(username="alice")
    client.force_login(alice.user)
    client.alice = alice
    return client


@pytest.mark.parametrize(
    ("query", "key", "days"),
    [
        ({"range": "today"}, "today", 1),
        ({"range": "7"}, "7", 7),
        ({"range": "90"}, "90", 90),
        ({}, "30", 30),
        ({"days": "7"}, "7", 7),  # the older ?days= still works
    ],
)
def test_each_range_is_marked_current_and_the_others_are_links(alice_client, query, key, days):
    response = alice_client.get("/dashboard/", query)

    period = response.context["period"]
    assert (period.key, period.days) == (key, days)
    html = response.content.decode()
    assert html.count('aria-current="true"') >= 1
    for other in {"today", "7", "30", "90", "all"} - {key}:
        assert f'href="?range={other}"' in html
    assert f'href="?range={key}"' not in html


def test_a_custom_range_fills_the_form_and_the_charts(alice_client, today):
    start, end = today - timedelta(days=13), today - timedelta(days=4)
    daily(alice_client.alice, today - timedelta(days=5), clicks=7, unique_clicks=7)
    daily(alice_client.alice, today, clicks=1000, unique_clicks=1000)  # after the range

    response = alice_client.get(
        "/dashboard/", {"range": "custom", "from": start.isoformat(), "to": end.isoformat()}
    )

    assert response.context["totals"]["clicks"] == 7
    html = response.content.decode()
    assert f'name="from" value="{start.isoformat()}"' in html
    assert f'name="to" value="{end.isoformat()}"' in html
    clicks = next(c for c in response.context["charts"] if c["id"] == "clicks")
    assert len(clicks["rows"]) == 10  # 13 … 4 days ago, both included


def test_all_time_starts_at_the_first_rollup_day(alice_client, today):
    daily(alice_client.alice, today - timedelta(days=200), clicks=3)

    response = alice_client.get("/dashboard/", {"range": "all"})

    assert response.context["period"].days == 201
    assert response.context["totals"]["clicks"] == 3
    clicks = next(c for c in response.context["charts"] if c["id"] == "clicks")
    assert clicks["bucket"] == "week"  # 201 days: summed by 7 days


junk = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["", "0", "-1", "9999-99-99"]))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    range_=st.one_of(junk, st.sampled_from(["today", "7", "30", "90", "all", "custom"])),
    start=st.one_of(junk, st.dates().map(str)),
    end=st.one_of(junk, st.dates().map(str)),
    days=junk,
)
def test_any_query_string_renders_the_page(alice_client, range_, start, end, days):
    query = {
        k: v
        for k, v in {"range": range_, "from": start, "to": end, "days": days}.items()
        if v is not None
    }
    query = {k: v.replace("\x00", "") for k, v in query.items()}

    response = alice_client.get("/dashboard/", query)

    assert response.status_code == 200
    period = response.context["period"]
    assert 1 <= period.days <= 3660
    assert period.end <= datetime.now(UTC).date()


@pytest.mark.parametrize(
    ("given_from", "given_to"),
    [("2027-01-01", "0001-10-01"), ("0001-01-01", "0001-01-02"), ("9999-12-31", "2026-11-01")],
)
def test_a_custom_range_far_out_is_clamped_not_an_error(given_from, given_to):
    # Found by the sweep above: a swapped pair put a future "from" at the end, and a range
    # near 0001-01-01 overflowed the length cap.
    from datetime import date

    from dashboard.selectors.period import MAX_CUSTOM_DAYS, period_from_query

    today = date(2026, 12, 2)
    period = period_from_query({"range": "custom", "from": given_from, "to": given_to}, today=today)
    assert period.start <= period.end <= today
    assert period.days == (period.end - period.start).days + 1 <= MAX_CUSTOM_DAYS
