"""Each program CSV computes only its own table: the landing pages' CSV reads the path
rollup and nothing of payments, the ledger or payouts; the commissions CSV reads the
ledger's daily rollup and none of the other tables' sources (each CSV used to rebuild the
whole page)."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from affiliates.roles import SUPPORT
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def support_client(client):
    user = UserFactory(email="support@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name=SUPPORT))
    client.force_login(user)
    return client


def _tables_read(client, table: str) -> str:
    url = reverse("dashboard-program-csv", kwargs={"table": table})
    client.get(url)  # session and caches settled
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return " ".join(q["sql"] for q in captured.captured_queries)


def test_the_landing_pages_csv_reads_no_money_tables(support_client):
    sql = _tables_read(support_client, "landing-pages")

    assert "tracking_dailypathstat" in sql
    for table in ("commissions_payment", "commissions_commissionentry", "payouts_payout"):
        assert table not in sql, table


def test_the_commissions_csv_sums_the_ledger_rollup(support_client):
    sql = _tables_read(support_client, "commissions")

    assert "commissions_ledgerday" in sql
    # and nothing of the per-affiliate table or the clicks' breakdowns
    for table in ("tracking_dailypathstat", "tracking_dailyreferrerstat", "payouts_payoutitem"):
        assert table not in sql, table
