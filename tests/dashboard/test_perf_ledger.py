"""perf-led: the payouts page lists at most ITEMS_SHOWN items per payout (the count by a
subquery, the CSV every id) in a query count that does not grow with items or payouts, and
the commissions page counts its rows from the totals it already sums."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.selectors import ledger
from payouts.models import Payout
from tests.dashboard.test_payouts_page import payout
from tests.factories import CommissionEntryFactory

pytestmark = pytest.mark.django_db


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_a_big_payout_lists_its_first_items_and_counts_them_all(alice_client, alice, run):
    n = ledger.ITEMS_SHOWN + 5
    big = payout(run, alice, [100 + i for i in range(n)], state=Payout.State.PAID)
    html = alice_client.get("/dashboard/payouts/").content.decode()
    assert f"{n} commission entries" in html  # the count is of every item
    ids = sorted(big.items.values_list("entry_id", flat=True))
    shown, hidden = ids[: ledger.ITEMS_SHOWN], ids[ledger.ITEMS_SHOWN :]
    for entry_id in shown:
        assert f"#{entry_id}<" in html or f"#{entry_id} " in html
    for entry_id in hidden:
        assert f"#{entry_id}<" not in html and f"#{entry_id} " not in html
    assert f"The first {ledger.ITEMS_SHOWN} of {n} entries are listed here" in html
    # The payout's amount is the sum of all 15 items: 15 × 100 + (0 + … + 14) = 1605.
    assert big.amount == 1605
    rows = list(
        csv.reader(
            io.StringIO(
                b"".join(alice_client.get("/dashboard/payouts.csv").streaming_content).decode()
            )
        )
    )
    assert sorted(int(i) for i in rows[1][8].split()) == ids  # the CSV carries every id


def test_payouts_page_queries_do_not_grow_with_items_or_payouts(alice_client, alice, run):
    payout(run, alice, [100, 200], state=Payout.State.PAID)
    small = _queries(alice_client, "/dashboard/payouts/")
    for _ in range(5):
        payout(run, alice, [100] * 20, state=Payout.State.PAID)
    assert _queries(alice_client, "/dashboard/payouts/") == small


def test_commission_pages_count_from_the_totals(alice_client, alice):
    for i in range(ledger.PAGE_SIZE + 3):
        CommissionEntryFactory(affiliate=alice, amount=10 + i, currency="USD")
    page = ledger.entry_page(
        ledger.entries_for(affiliate_id=alice.pk),
        page=2,
        totals=ledger.entry_totals(ledger.entries_for(affiliate_id=alice.pk)),
    )
    assert page.paginator.count == ledger.PAGE_SIZE + 3
    assert len(page.object_list) == 3  # the second page holds the last three
    html = alice_client.get("/dashboard/commissions/?page=2").content.decode()
    assert "Page 2 of 2" in html


def test_payouts_are_paged(alice_client, alice, run):
    for days_ago in range(ledger.PAYOUT_PAGE_SIZE + 2):
        payout(run, alice, [100], state=Payout.State.PAID, days_ago=days_ago)
    first = alice_client.get("/dashboard/payouts/").content.decode()
    second = alice_client.get("/dashboard/payouts/?page=2").content.decode()
    assert first.count('class="card payout"') == ledger.PAYOUT_PAGE_SIZE
    assert second.count('class="card payout"') == 2  # the two oldest
    assert "Page 2 of 2" in second
