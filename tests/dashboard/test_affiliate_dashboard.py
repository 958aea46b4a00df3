"""The affiliate's dashboard at /dashboard/: figures from the rollups and the ledger only,
its own figures only, and a page cost that does not grow with the data behind it."""

from datetime import UTC, datetime, time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commissions.models import CommissionEntry
from tests.dashboard.conftest import daily, path_stat, referrer_stat
from tests.factories import AffiliateFactory, CommissionEntryFactory

pytestmark = pytest.mark.django_db

State = CommissionEntry.State


@pytest.fixture
def affiliate(alice):
    # alice and alice_client (logged in as her) come from tests/dashboard/conftest.py.
    return alice


def _entry(affiliate, day, amount, **fields):
    """A ledger entry written at noon (UTC) of `day` (no payment: it counts on that day)."""
    at = datetime.combine(day, time(12), tzinfo=UTC)
    return CommissionEntryFactory(
        affiliate=affiliate, amount=amount, created_at=at, approve_after=at, **fields
    )


@pytest.fixture
def alice_rollups(affiliate, days_ago):
    # The ledger entries behind the rollups' commission column (the earnings tiles read the
    # ledger; the rollups and the ledger agree, as commissions/rollups.py keeps them).
    _entry(affiliate, days_ago(0), 1250)
    _entry(affiliate, days_ago(10), 500)
    _entry(affiliate, days_ago(40), 7000)
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
    # Earned (ledger, one currency): 1250 + 500 = 1750 cents.
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


def test_the_charts_have_every_day_of_the_period_with_zeros_for_quiet_days(
    alice_client, alice_rollups, today
):
    # Was: one clicks-only bar chart without axes (context "bars"/"days"), the bug issue 11
    # names; now the clicks, signups/upgrades and earnings charts of dashboard.charts.
    response = alice_client.get("/dashboard/", {"days": "7"})

    charts = {c["id"]: c for c in response.context["charts"]}
    assert set(charts) == {"clicks", "conversions", "earnings-usd"}
    clicks = charts["clicks"]
    assert [row["first"] for row in clicks["rows"]][-1] == today
    assert len(clicks["rows"]) == 7
    # today: 10 clicks, 8 unique; the six days before: zeros
    assert [row["values"] for row in clicks["rows"]] == [[0, 0]] * 6 + [[10, 8]]
    assert [row["values"] for row in charts["conversions"]["rows"]][-1] == [1, 1]
    # the ledger's 1250 cents today
    assert [row["values"][0] for row in charts["earnings-usd"]["rows"]] == [0] * 6 + [1250]
    html = response.content.decode()
    assert html.count('role="img"') == 3


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
    # In the locale's DATE_FORMAT now (was the hand format "2 Nov 2026"; issue 11 asks for
    # dates formatted per locale).
    assert "approves on Nov. 2, 2026" in html


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
    # 15 before issue 11; the plan and tier (4 with its line rates + 2 sales sums), the
    # payout forecast (account, the rollup's approved/in-payout days + their live part, the
    # pending entries) and the balances from the ledger's day rollup (its marked days, then
    # the sums: one query more than summing every entry) add queries, none of them per row.
    assert with_ninety_days <= 23
