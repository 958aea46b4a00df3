"""The program dashboard's CSV exports, its payout forecast, who sees payout destinations,
and its cost: constant queries whatever the data, no 500 on junk input."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from affiliates.models import Affiliate
from affiliates.roles import PROGRAM_MANAGER, SUPPORT
from commissions.models import CommissionEntry
from dashboard.selectors.program import next_run_at
from dashboard.views.program import TABLES
from tests.commissions.conftest import pay
from tests.dashboard.conftest import daily, path_stat, referrer_stat
from tests.factories import (
    AffiliateFactory,
    CommissionEntryFactory,
    PayoutAccountFactory,
    PlanFactory,
    ReferralFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# The 3rd of November: the next run is the two-weekly one on the 15th.
NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
APPROVED = CommissionEntry.State.APPROVED


def _staff(client, group: str, email: str):
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


@pytest.fixture
def support_client(client):
    return _staff(client, SUPPORT, "support@example.com")


@pytest.fixture
def manager_client(client):
    return _staff(client, PROGRAM_MANAGER, "manager@example.com")


def _approved(affiliate, amount, currency="USD"):
    return CommissionEntryFactory(
        affiliate=affiliate, amount=amount, currency=currency, state=APPROVED, approved_at=NOW
    )


@pytest.fixture
def due_balances():
    """Two-weekly affiliates with approved balances, as the run on the 15th sees them."""
    two_weekly = {"payout_frequency": Affiliate.Frequency.TWO_WEEKLY}
    paypal = AffiliateFactory(username="pp", **two_weekly)
    PayoutAccountFactory(affiliate=paypal, paypal_email="pp-receiver@example.net")
    stripe = AffiliateFactory(username="st", **two_weekly)
    PayoutAccountFactory(
        affiliate=stripe,
        method="stripe",
        paypal_email="",
        stripe_account_id="acct_secret123",
        stripe_payouts_enabled=True,
    )
    nomethod = AffiliateFactory(username="nm", **two_weekly)
    small = AffiliateFactory(username="small", **two_weekly)
    PayoutAccountFactory(affiliate=small)
    monthly = AffiliateFactory(username="monthly")
    PayoutAccountFactory(affiliate=monthly)
    # pp: $40 + $30 = $70.00 USD (≥ $50) and €60.00 EUR; st: $55.00; nm: $80.00, held (no
    # method); small: $49.99, under the $50 threshold, carried; monthly: not in this run.
    _approved(paypal, 4_000)
    _approved(paypal, 3_000)
    _approved(paypal, 6_000, "EUR")
    _approved(stripe, 5_500)
    _approved(nomethod, 8_000)
    _approved(small, 4_999)
    _approved(monthly, 9_000)
    # A pending entry is not in the forecast.
    CommissionEntryFactory(affiliate=paypal, amount=10_000)


def _get(client, url, **query):
    with time_machine.travel(NOW, tick=False):
        return client.get(url, query)


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_next_run_is_the_first_or_the_fifteenth_at_13_07_utc():
    assert next_run_at(NOW) == (datetime(2026, 11, 15, 13, 7, tzinfo=UTC), True)
    assert next_run_at(datetime(2026, 11, 15, 13, 7, tzinfo=UTC)) == (
        datetime(2026, 12, 1, 13, 7, tzinfo=UTC),
        False,
    )
    assert next_run_at(datetime(2026, 12, 20, tzinfo=UTC)) == (
        datetime(2027, 1, 1, 13, 7, tzinfo=UTC),
        False,
    )


def test_the_forecast_pays_what_the_next_run_would_per_currency_and_method(
    due_balances, support_client
):
    forecast = _get(support_client, "/dashboard/program/").context["forecast"]

    assert forecast["two_weekly_only"] is True
    # EUR PayPal: pp €60.00; USD PayPal: pp $70.00; USD Stripe: st $55.00; held: nm $80.00.
    assert forecast["by_method"] == [
        ("EUR", "PayPal", 1, 6_000),
        ("USD", "PayPal", 1, 7_000),
        ("USD", "Stripe Connect", 1, 5_500),
    ]
    assert forecast["held"] == [("USD", 1, 8_000)]
    rows = _csv(_get(support_client, "/dashboard/program/forecast.csv"))
    assert rows == [
        ["currency", "method", "payouts", "amount"],
        ["EUR", "PayPal", "1", "60.00"],
        ["USD", "PayPal", "1", "70.00"],
        ["USD", "Stripe Connect", "1", "55.00"],
        ["USD", "held", "1", "80.00"],
    ]


def test_support_sees_the_forecast_but_no_payout_destinations(due_balances, support_client):
    html = _get(support_client, "/dashboard/program/").content.decode()
    rows = _csv(_get(support_client, "/dashboard/program/forecast-affiliates.csv"))

    assert "pp-receiver@example.net" not in html and "acct_secret123" not in html
    assert "Destination" not in html
    assert rows[0] == ["affiliate", "currency", "method", "amount", "held_because"]
    assert ["nm", "USD", "none", "80.00", "no payout method set"] in rows
    assert not any("pp-receiver@example.net" in cell for row in rows for cell in row)


def test_program_managers_see_where_each_payout_would_go(due_balances, manager_client):
    html = _get(manager_client, "/dashboard/program/").content.decode()
    rows = _csv(_get(manager_client, "/dashboard/program/forecast-affiliates.csv"))

    assert "pp-receiver@example.net" in html and "acct_secret123" in html
    assert rows[0][-1] == "destination"
    assert ["st", "USD", "stripe", "55.00", "", "acct_secret123"] in rows


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_table_exports_for_support(support_client, table):
    response = _get(support_client, f"/dashboard/program/{table}.csv", range="7")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"program-{table}-2026-10-28-2026-11-03.csv" in response["Content-Disposition"]


def test_the_page_links_every_csv_with_its_period(support_client):
    html = _get(support_client, "/dashboard/program/", range="90").content.decode()

    for table in TABLES:
        assert f'href="/dashboard/program/{table}.csv?range=90"' in html, table


def test_an_unknown_table_is_a_404(support_client):
    assert _get(support_client, "/dashboard/program/nope.csv").status_code == 404


def test_affiliates_and_anonymous_visitors_get_no_csv(client):
    anonymous = client.get("/dashboard/program/affiliates.csv")
    client.force_login(AffiliateFactory().user)
    affiliate = client.get("/dashboard/program/affiliates.csv")

    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert affiliate.status_code == 403


def test_csv_cells_that_could_be_formulas_are_neutralised(support_client):
    affiliate = AffiliateFactory()
    referrer_stat(affiliate, NOW.date(), "=HYPERLINK(evil)", clicks=3)

    rows = _csv(_get(support_client, "/dashboard/program/referrers.csv"))

    assert rows[1] == ["'=HYPERLINK(evil)", "3", "3", "0"]


def _seed(n: int) -> None:
    """n affiliates, each with rollups, paths, referrers, a paying customer, approved and
    pending entries and a payout account: everything the page reads grows with n."""
    plan = PlanFactory(first_payment_bp=3000, recurring_bp=3000, use_tiers=False)
    for i in range(n):
        affiliate = AffiliateFactory(plan=plan, payout_frequency=Affiliate.Frequency.TWO_WEEKLY)
        PayoutAccountFactory(affiliate=affiliate)
        for k in range(3):
            day = (NOW - timedelta(days=k * 20)).date()
            daily(affiliate, day, clicks=10 + k, unique_clicks=9, signups=1)
            path_stat(affiliate, day, f"/p{i}-{k}/", clicks=k + 1)
            referrer_stat(affiliate, day, f"r{i}-{k}.example", clicks=k + 1)
        customer = ReferralFactory(affiliate=affiliate, created_at=NOW - timedelta(days=400))
        pay(customer, external_id=f"p{i}-a", amount=10_000, paid_at=NOW - timedelta(days=380))
        pay(customer, external_id=f"p{i}-b", amount=10_000, paid_at=NOW - timedelta(days=5))
        _approved(affiliate, 6_000)
    AffiliateFactory.create_batch(n, status=Affiliate.Status.APPLIED)


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert _get(client, url, range="all").status_code == 200
    return len(captured)


def test_the_page_and_its_exports_cost_the_same_queries_with_2_or_20_affiliates(
    manager_client,
):
    _seed(2)
    few = {url: _queries(manager_client, url) for url in _urls()}
    _seed(18)
    many = {url: _queries(manager_client, url) for url in _urls()}

    assert few == many
    # 31 on the page: owed and the forecast read the ledger rollup (two queries each, plus
    # the carried items), paying customers and retention their counters (one each) and the
    # referrals marked for the summary sweeper (two, read once for both), ROI by month its
    # money rollup and its payouts (two, whatever the months).
    assert max(many.values()) <= 31


def _urls() -> list[str]:
    return ["/dashboard/program/", *(f"/dashboard/program/{t}.csv" for t in TABLES)]


junk = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["7", "all", "custom", "-1"]))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(range_=junk, start=junk, end=junk, days=junk)
def test_junk_periods_never_fail(support_client, range_, start, end, days):
    query = {
        k: v
        for k, v in {"range": range_, "from": start, "to": end, "days": days}.items()
        if v is not None
    }

    page = support_client.get("/dashboard/program/", query)
    export = support_client.get("/dashboard/program/trend.csv", query)

    assert page.status_code == 200 and export.status_code == 200
