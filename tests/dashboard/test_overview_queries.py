"""The overview costs the same number of queries with 2 rows of everything as with 20:
rollups, paths, referrers, ledger entries in two currencies, customers' payments (tiers)."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commissions.models import CommissionEntry
from tests.commissions.conftest import pay
from tests.dashboard.conftest import daily, path_stat, referrer_stat
from tests.factories import (
    AffiliateFactory,
    CommissionEntryFactory,
    PayoutAccountFactory,
    ReferralFactory,
)

pytestmark = pytest.mark.django_db

State = CommissionEntry.State
STATES = [State.PENDING, State.APPROVED, State.IN_PAYOUT, State.PAID, State.DECLINED]


def _affiliate_with(rows: int, today):
    affiliate = AffiliateFactory()
    PayoutAccountFactory(affiliate=affiliate)
    customer = ReferralFactory(affiliate=affiliate)
    for n in range(rows):
        day = today - timedelta(days=n)
        at = datetime.combine(day, time(12), tzinfo=UTC)
        daily(affiliate, day, clicks=n + 1, unique_clicks=n + 1, signups=1, first_payments=1)
        path_stat(affiliate, day, f"/page-{n}/", clicks=n + 1)
        referrer_stat(affiliate, day, f"site{n}.example", clicks=n + 1)
        for currency in ("USD", "EUR"):
            CommissionEntryFactory(
                affiliate=affiliate,
                amount=100 + n,
                currency=currency,
                state=STATES[n % len(STATES)],
                created_at=at,
                approve_after=at,
            )
        # Payments last month and this month feed the tier figures.
        pay(
            customer,
            external_id=f"q-{affiliate.pk}-{n}",
            amount=1000,
            paid_at=at - timedelta(days=30),
        )
    return affiliate


def _count(client, affiliate, query) -> int:
    client.force_login(affiliate.user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/dashboard/", query)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"range": "90"},
        {"range": "all"},
        {"range": "today"},
        {"range": "custom", "from": "2026-01-01", "to": "2026-12-31"},
    ],
)
def test_the_overview_costs_the_same_queries_with_2_or_20_rows(client, today, query):
    small, large = _affiliate_with(2, today), _affiliate_with(20, today)

    with_two = _count(client, small, query)
    with_twenty = _count(client, large, query)

    assert with_two == with_twenty
    # session, user, affiliate; rollups, earnings, balances (the ledger rollup's two); plan +
    # tiers + bonuses + line rates, the sales counter and its backlog; payout account, forecast (the ledger
    # rollup's two, the pending entries); paths, referrers, latest entries; aliases, coupons
    # (and "all"'s first day).
    assert with_twenty <= 24


def test_the_applicant_page_is_a_handful_of_queries(client, django_assert_max_num_queries):
    from affiliates.models import Affiliate

    ann = AffiliateFactory(status=Affiliate.Status.APPLIED)
    client.force_login(ann.user)

    with django_assert_max_num_queries(4):
        assert client.get("/dashboard/").status_code == 200
