"""Payout runs and payouts in admin: readable totals, each run's state read against its
payouts' states, the payout CSV exports linked for those who may download them, money as
money, constant query counts."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payouts.models import Payout, PayoutItem, PayoutRun
from tests.factories import AffiliateFactory, CommissionEntryFactory

pytestmark = pytest.mark.django_db
RUNS = "/admin/payouts/payoutrun/"
PAYOUTS = "/admin/payouts/payout/"


def _run(now, state, payouts: list[tuple[str, int, str]], **extra) -> PayoutRun:
    totals: dict[str, int] = {}
    for _, amount, currency in payouts:
        totals[currency] = totals.get(currency, 0) + amount
    run = PayoutRun.objects.create(
        started_at=now,
        state=state,
        payout_count=extra.pop("payout_count", len(payouts)),
        totals=totals,
        **extra,
    )
    for state_, amount, currency in payouts:
        Payout.objects.create(
            run=run,
            affiliate=AffiliateFactory(),
            amount=amount,
            currency=currency,
            method="manual",
            bank_details="IBAN DE00 SECRET",
            state=state_,
            idempotency_key=f"k-{run.pk}-{Payout.objects.count()}",
            created_at=now,
        )
    return run


def test_a_run_shows_its_totals_and_its_payouts_by_state(manager_client, now):
    run = _run(
        now,
        PayoutRun.State.APPROVED,
        [("paid", 10800, "USD"), ("sending", 8265, "USD"), ("failed", 5000, "EUR")],
    )

    listing = manager_client.get(RUNS).content.decode()
    detail = manager_client.get(f"{RUNS}{run.pk}/change/").content.decode()

    # totals: USD 10800 + 8265 = 19065 → USD 190.65; EUR 5000 → EUR 50.00
    for page in (listing, detail):
        assert "EUR 50.00, USD 190.65" in page
        assert "1 sending, 1 paid, 1 failed" in page
        assert "⚠" not in page  # an approved run with a payout still sending agrees
    assert "USD 108.00" in detail and "USD 82.65" in detail  # its payouts, inline
    assert 'name="_save"' not in detail  # every field is read-only


@pytest.mark.parametrize(
    ("state", "payouts", "problem"),
    [
        (
            PayoutRun.State.COMPLETED,
            [("paid", 100, "USD"), ("sending", 100, "USD")],
            "1 payout(s) not final yet",
        ),
        (
            PayoutRun.State.APPROVED,
            [("paid", 100, "USD"), ("failed", 100, "USD")],
            "the run should be completed",
        ),
        (
            PayoutRun.State.AWAITING_APPROVAL,
            [("pending", 100, "USD")],
            "moved before the run was approved",
        ),
    ],
)
def test_a_run_whose_state_disagrees_with_its_payouts_is_flagged(
    manager_client, now, state, payouts, problem
):
    _run(now, state, payouts)

    page = manager_client.get(RUNS).content.decode()

    assert "⚠" in page and problem in page


def test_a_completed_run_whose_payouts_are_all_final_agrees(manager_client, now):
    _run(now, PayoutRun.State.COMPLETED, [("paid", 100, "USD"), ("failed", 100, "USD")])

    assert "⚠" not in manager_client.get(RUNS).content.decode()


def test_payouts_read_as_money_and_link_their_run(manager_client, now):
    run = _run(now, PayoutRun.State.APPROVED, [("pending", 10800, "USD")])
    payout = run.payouts.get()

    listing = manager_client.get(PAYOUTS).content.decode()
    detail = manager_client.get(f"{PAYOUTS}{payout.pk}/change/").content.decode()

    assert "USD 108.00" in listing and f'href="{RUNS}{run.pk}/change/"' in listing
    assert "USD 108.00" in detail and ">10800<" not in detail


def test_a_payout_and_its_items_are_named_with_money(now):
    run = _run(now, PayoutRun.State.APPROVED, [("pending", 10800, "JPY")])
    payout = run.payouts.get()
    entry = CommissionEntryFactory(affiliate=payout.affiliate, amount=10800, currency="JPY")
    item = PayoutItem.objects.create(payout=payout, entry=entry, amount=10800)

    # the yen has no minor unit: 10800 is JPY 10,800 (and 10800 cents would be USD 108.00)
    assert str(payout) == f"Payout {payout.pk} JPY 10,800 → {payout.affiliate_id} (pending)"
    assert str(item) == f"{payout.pk}: entry {entry.pk} JPY 10,800"


def test_managers_find_the_payout_exports_linked_and_support_does_not(
    manager_client, support_client, now
):
    run = _run(now, PayoutRun.State.APPROVED, [("pending", 10800, "USD")])

    manager_list = manager_client.get(PAYOUTS).content.decode()
    manager_run = manager_client.get(f"{RUNS}{run.pk}/change/").content.decode()
    support_list = support_client.get(PAYOUTS).content.decode()
    support_run = support_client.get(f"{RUNS}{run.pk}/change/").content.decode()

    for page in (manager_list, manager_run):
        assert 'href="/payouts/export/paypal.csv"' in page
        assert 'href="/payouts/export/generic.csv"' in page
    for page in (support_list, support_run):
        assert "/payouts/export/" not in page
        assert "IBAN DE00 SECRET" not in page
    assert manager_client.get("/payouts/export/generic.csv").status_code == 200


@pytest.mark.parametrize("url", [RUNS, PAYOUTS])
def test_the_payout_lists_cost_the_same_with_2_and_20_rows(
    manager_client, now, url, django_assert_max_num_queries
):
    def rows(n):
        for _ in range(n):
            _run(now, PayoutRun.State.COMPLETED, [("paid", 100, "USD")])

    rows(2)
    with CaptureQueriesContext(connection) as two:
        manager_client.get(url)
    rows(18)

    with django_assert_max_num_queries(len(two)):
        page = manager_client.get(url)

    assert len(set(re.findall(rf'href="{url}(\d+)/change/', page.content.decode()))) == 20
