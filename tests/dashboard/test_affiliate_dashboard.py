"""The affiliate's dashboard at /dashboard/: figures from the rollups and the ledger only,
its own figures only, and a page cost that does not grow with the data behind it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commissions.models import CommissionEntry
from tests.dashboard.conftest import daily, path_stat, referrer_stat
from tests.factories import AffiliateFactory, CommissionEntryFactory

pytestmark = pytest.mark.django_db

State = CommissionEntry.State


@pytest.fixture
def affiliate():
    return AffiliateFactory(username="alice")


@pytest.fixture
def alice_client(client, affiliate):
    client.force_login(affiliate.user)
    return client


@pytest.fixture
def alice_rollups(affiliate, days_ago):
    daily(
        affiliate,
        days_ago(0),
        clicks=10,
        unique_clicks=8,
        signups=1,
        first_payments=1,
        revenue=5000,
        commission=1250,
    )
    daily(affiliate, days_ago(10), clicks=5, unique_clicks=4, signups=1, commission=500)
    daily(
        affiliate,
        days_ago(40),
        clicks=100,
        unique_clicks=90,
        signups=9,
        first_payments=2,
        commission=7000,
    )


def test_the_totals_cover_the_last_30_days_by_default(alice_client, alice_rollups):
    response = alice_client.get("/dashboard/")

    # Today and 10 days ago count; 40 days ago does not.
    # clicks 10 + 5 = 15, unique 8 + 4 = 12, signups 1 + 1 = 2, first payments 1,
    # commission 1250 + 500 = 1750 cents; conversion 2 / 12 = 16.66…% → 16.7%.
    assert response.status_code == 200
    assert response.context["period"].days == 30
    assert response.context["totals"] == {
        "clicks": 15,
        "unique_clicks": 12,
        "signups": 2,
        "first_payments": 1,
        "revenue": 5000,
        "commission": 1750,
    }
    html = response.content.decode()
    assert '<dd id="total-conversion" title="signups / unique clicks">16.7%</dd>' in html
    assert '<dd id="total-commission">USD 17.50</dd>' in html


@pytest.mark.parametrize(
    ("days", "clicks", "conversion", "commission"),
    [
        # today only: 1 / 8 = 12.5%, 1250 cents
        ("7", 10, "12.5%", "USD 12.50"),
        # all three days: clicks 115, signups 11 / unique 102 = 10.78…% → 10.8%,
        # commission 1250 + 500 + 7000 = 8750 cents
        ("90", 115, "10.8%", "USD 87.50"),
    ],
)
def test_the_period_picker_changes_the_totals(
    alice_client, alice_rollups, days, clicks, conversion, commission
):
    response = alice_client.get("/dashboard/", {"days": days})

    assert response.context["period"].days == int(days)
    assert response.context["totals"]["clicks"] == clicks
    html = response.content.decode()
    assert f">{conversion}</dd>" in html
    assert f'<dd id="total-commission">{commission}</dd>' in html


@pytest.mark.parametrize("raw", ["abc", "14", "-7", "0", ""])
def test_an_invalid_period_means_30_days(alice_client, raw):
    response = alice_client.get("/dashboard/", {"days": raw})

    assert response.status_code == 200
    assert response.context["period"].days == 30


def test_without_unique_clicks_the_conversion_is_a_dash(alice_client):
    response = alice_client.get("/dashboard/")

    assert '<dd id="total-conversion" title="signups / unique clicks">—</dd>' in (
        response.content.decode()
    )


def test_the_daily_series_has_every_day_of_the_period_with_zeros_for_quiet_days(
    alice_client, alice_rollups, today
):
    response = alice_client.get("/dashboard/", {"days": "7"})

    days = response.context["days"]  # newest first
    assert [row["day"] for row in days][0] == today
    assert len(days) == 7
    assert (days[0]["clicks"], days[0]["signups"], days[0]["commission"]) == (10, 1, 1250)
    assert all(row["clicks"] == 0 for row in days[1:])
    # The busiest day fills the chart (80 px); the others have no bar.
    assert [bar["height"] for bar in response.context["bars"]] == [0, 0, 0, 0, 0, 0, 80]


def test_top_paths_and_referrers_are_the_five_busiest_summed_over_the_period(
    alice_client, affiliate, days_ago
):
    # /p1/ … /p6/ with 1 … 6 clicks today, and /p1/ again with 10 clicks 3 days ago:
    # /p1/ totals 11 and leads; /p1/ (11), /p6/ … /p3/ make the five, /p2/ (2) drops out.
    for n in range(1, 7):
        path_stat(affiliate, days_ago(0), f"/p{n}/", clicks=n)
    path_stat(affiliate, days_ago(3), "/p1/", clicks=10)
    path_stat(affiliate, days_ago(45), "/old/", clicks=500)  # outside 30 days
    referrer_stat(affiliate, days_ago(0), "", clicks=4)
    referrer_stat(affiliate, days_ago(0), "news.example", clicks=7, signups=1)

    response = alice_client.get("/dashboard/")

    paths = response.context["top_paths"]
    assert [(p["name"], p["clicks"]) for p in paths] == [
        ("/p1/", 11),
        ("/p6/", 6),
        ("/p5/", 5),
        ("/p4/", 4),
        ("/p3/", 3),
    ]
    referrers = response.context["top_referrers"]
    assert [(r["name"], r["clicks"], r["signups"]) for r in referrers] == [
        ("news.example", 7, 1),
        ("", 4, 0),
    ]
    assert "<code>direct</code>" in response.content.decode()


def test_balances_are_shown_per_currency_with_negatives_signed(alice_client, affiliate):
    # USD: pending 1000; approved 2500 − 3750 (clawback) = −1250; paid 4000. EUR: pending 500.
    # Declined entries count nowhere.
    CommissionEntryFactory(affiliate=affiliate, amount=1000, state=State.PENDING)
    CommissionEntryFactory(affiliate=affiliate, amount=2500, state=State.APPROVED)
    CommissionEntryFactory(
        affiliate=affiliate, amount=-3750, state=State.APPROVED, kind=CommissionEntry.Kind.CLAWBACK
    )
    CommissionEntryFactory(affiliate=affiliate, amount=4000, state=State.PAID)
    CommissionEntryFactory(affiliate=affiliate, amount=9999, state=State.DECLINED)
    CommissionEntryFactory(affiliate=affiliate, amount=500, currency="EUR")

    response = alice_client.get("/dashboard/")

    html = response.content.decode()
    assert (
        '<tr><th>EUR</th><td class="num">EUR 5.00</td><td class="num">EUR 0.00</td>'
        '<td class="num">EUR 0.00</td><td class="num">EUR 0.00</td></tr>'
    ) in html
    assert (
        '<tr><th>USD</th><td class="num">USD 10.00</td><td class="num">USD -12.50</td>'
        '<td class="num">USD 0.00</td><td class="num">USD 40.00</td></tr>'
    ) in html
    assert 'href="/payouts/settings/"' in html


def test_the_ten_latest_entries_are_listed_and_pending_ones_say_when_they_approve(
    alice_client, affiliate, now
):
    for n in range(12):
        CommissionEntryFactory(affiliate=affiliate, amount=100 + n, approve_after=now)

    response = alice_client.get("/dashboard/")

    entries = response.context["entries"]
    # Same created_at for all: newest (highest pk) first, 111 … 102 cents.
    assert [e.amount for e in entries] == list(range(111, 101, -1))
    html = response.content.decode()
    assert "USD 1.11" in html and "USD 1.01" not in html
    assert f"approves on {now:%-d %b %Y}" in html


def test_another_affiliates_figures_never_show(alice_client, affiliate, alice_rollups, days_ago):
    bob = AffiliateFactory(username="bob")
    daily(bob, days_ago(0), clicks=4321, unique_clicks=4321, signups=99, commission=123_400)
    path_stat(bob, days_ago(0), "/bobs-secret-page/", clicks=4321)
    referrer_stat(bob, days_ago(0), "bobs-blog.example", clicks=4321)
    CommissionEntryFactory(affiliate=bob, amount=77_700, currency="GBP")

    response = alice_client.get("/dashboard/")

    # Alice's figures as in the 30-day test, untouched by Bob's.
    assert response.context["totals"]["clicks"] == 15
    assert response.context["totals"]["commission"] == 1750
    html = response.content.decode()
    for leak in (
        "4321",
        "4336",
        "/bobs-secret-page/",
        "bobs-blog.example",
        "GBP",
        "1,234.00",
        "777.00",
    ):
        assert leak not in html


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/dashboard/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/dashboard/")


def _fill(affiliate, days_ago, days: int) -> None:
    """`days` days of rollups, 3 paths and 3 referrers a day, and 2 ledger entries a day."""
    for n in range(days):
        day = days_ago(n)
        daily(affiliate, day, clicks=n + 1, unique_clicks=n + 1, signups=1, commission=100)
        for p in range(3):
            path_stat(affiliate, day, f"/page-{p}/", clicks=p + 1)
            referrer_stat(affiliate, day, f"site{p}.example", clicks=p + 1)
        CommissionEntryFactory(affiliate=affiliate, amount=100, state=State.PENDING)
        CommissionEntryFactory(affiliate=affiliate, amount=50, state=State.APPROVED)


def _queries_for_dashboard(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/dashboard/", {"days": "90"})
    assert response.status_code == 200
    return len(captured)


def test_the_page_costs_the_same_queries_with_1_day_or_90_days_of_rollups(client, days_ago):
    small, large = AffiliateFactory(), AffiliateFactory()
    _fill(small, days_ago, 1)
    _fill(large, days_ago, 90)

    client.force_login(small.user)
    with_one_day = _queries_for_dashboard(client)
    client.force_login(large.user)
    with_ninety_days = _queries_for_dashboard(client)

    assert with_one_day == with_ninety_days
    assert with_ninety_days <= 15
