"""/dashboard/payouts/ and its CSV: the affiliate's payouts with the entries each carried,
totals per currency equal to the payouts' own sums, destinations masked, nothing of another
affiliate's, junk input never an error, and a query count that does not grow."""

import csv
import io
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissions.models import CommissionEntry
from payouts.models import Payout, PayoutItem
from tests.factories import AffiliateFactory, CommissionEntryFactory

pytestmark = pytest.mark.django_db

State = CommissionEntry.State


def payout(run, affiliate, amounts, *, state, currency="USD", days_ago=1, **fields) -> Payout:
    """A payout carrying one entry per amount (its amount is their sum, as runs write it)."""
    now = timezone.now() - timedelta(days=days_ago)
    entry_state = {Payout.State.PAID: State.PAID, Payout.State.FAILED: State.APPROVED}.get(
        state, State.IN_PAYOUT
    )
    p = Payout.objects.create(
        run=run,
        affiliate=affiliate,
        amount=sum(amounts),
        currency=currency,
        method=fields.pop("method", "paypal"),
        destination=fields.pop("destination", "alice.payee@paypal.example"),
        state=state,
        idempotency_key=uuid.uuid4().hex,
        created_at=now,
        **fields,
    )
    for amount in amounts:
        entry = CommissionEntryFactory(
            affiliate=affiliate, amount=amount, currency=currency, state=entry_state
        )
        PayoutItem.objects.create(
            payout=p, entry=entry, amount=amount, live=state != Payout.State.FAILED
        )
    return p


@pytest.fixture
def payouts(run, alice):
    bob = AffiliateFactory(username="bob")
    return {
        "paid": payout(run, alice, [2500, 3500], state=Payout.State.PAID, paid_at=timezone.now()),
        "paid_eur": payout(run, alice, [1000], state=Payout.State.PAID, currency="EUR"),
        "pending": payout(run, alice, [4200], state=Payout.State.PENDING, days_ago=0),
        "failed": payout(run, alice, [900], state=Payout.State.FAILED, days_ago=3),
        "bobs": payout(run, bob, [77777], state=Payout.State.PAID, destination="bob@bob.example"),
    }


def test_the_payouts_with_their_items_and_totals(alice_client, alice, payouts):
    response = alice_client.get("/dashboard/payouts/")

    assert response.status_code == 200
    shown = [p.pk for p, _ in response.context["payouts"]]  # newest first, ties newest row
    assert shown == [payouts[k].pk for k in ("pending", "paid_eur", "paid", "failed")]
    totals = {t.currency: (t.paid, t.open, t.failed) for t in response.context["totals"]}
    # USD paid 2500 + 3500 = 6000; on the way 4200; failed 900. EUR paid 1000.
    assert totals == {"USD": (6000, 4200, 900), "EUR": (1000, 0, 0)}
    usd_paid = Payout.objects.filter(affiliate=alice, currency="USD", state="paid")
    assert totals["USD"][0] == sum(p.amount for p in usd_paid)
    html = response.content.decode()
    assert "USD 60.00" in html and "USD 42.00" in html
    assert "2 commission entries" in html
    for item in payouts["paid"].items.all():
        assert f"#{item.entry_id}" in html


def test_the_destination_is_masked(alice_client, payouts):
    html = alice_client.get("/dashboard/payouts/").content.decode()

    assert "alice.payee@paypal.example" not in html
    assert "a•••@p•••.example" in html


def test_another_affiliates_payouts_never_appear(alice_client, payouts):
    page = alice_client.get("/dashboard/payouts/").content.decode()
    export = b"".join(alice_client.get("/dashboard/payouts.csv").streaming_content).decode()

    for body in (page, export):
        assert "777.77" not in body and "bob.example" not in body
        assert f'payout-{payouts["bobs"].pk}"' not in body


def test_the_csv_adds_up_to_the_page(alice_client, payouts):
    response = alice_client.get("/dashboard/payouts.csv", {"state": "paid"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert response["Content-Disposition"] == 'attachment; filename="payouts.csv"'
    assert {r["payout_id"] for r in rows} == {str(payouts["paid"].pk), str(payouts["paid_eur"].pk)}
    usd = next(r for r in rows if r["currency"] == "USD")
    # 2500 + 3500 = 6000 minor units = "60.00".
    assert (usd["amount"], usd["amount_minor"]) == ("60.00", "6000")
    assert usd["destination"] == "a•••@p•••.example"
    entry_ids = {str(i.entry_id) for i in payouts["paid"].items.all()}
    assert set(usd["entry_ids"].split()) == entry_ids


def test_filter_by_state(alice_client, payouts):
    failed = alice_client.get("/dashboard/payouts/", {"state": "failed"})

    assert [p.pk for p, _ in failed.context["payouts"]] == [payouts["failed"].pk]
    assert "returned" in failed.content.decode()  # its items went back to approved


def test_no_payouts_says_what_to_do(alice_client):
    html = alice_client.get("/dashboard/payouts/").content.decode()

    assert 'class="empty"' in html and "/payouts/settings/" in html


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(state=st.text(max_size=20), page=st.text(max_size=10))
def test_junk_parameters_never_500(alice_client, payouts, state, page):
    params = {"state": state, "page": page}

    assert alice_client.get("/dashboard/payouts/", params).status_code == 200
    assert alice_client.get("/dashboard/payouts.csv", params).status_code == 200


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_the_payouts(run, alice, alice_client):
    for _ in range(2):
        payout(run, alice, [100, 200], state=Payout.State.PAID)
    two = _queries(alice_client, "/dashboard/payouts/")

    for _ in range(18):
        payout(run, alice, [100, 200, 300], state=Payout.State.PAID)
    twenty = _queries(alice_client, "/dashboard/payouts/")

    assert two == twenty <= 8


def test_the_stored_item_count_is_read_and_a_missing_one_is_counted(alice_client, payouts):
    # given the paid payout's stored count (as a run writes it; 7 here only to tell it from
    # a count of its 2 items) and the EUR one without a stored count (1 item)
    Payout.objects.filter(pk=payouts["paid"].pk).update(entry_count=7)

    page = alice_client.get("/dashboard/payouts/")

    counts = {p.pk: p.item_count for p, _ in page.context["payouts"]}
    assert counts[payouts["paid"].pk] == 7
    assert counts[payouts["paid_eur"].pk] == 1
    assert "7 commission entries" in page.content.decode()
