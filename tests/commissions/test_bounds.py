"""Bounds on money in: amounts 1 … 10^12 minor units, dates from 2000-01-01 to a day from
now, refunds within what is left of their payment and not before it (services: "Bounds")."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from commissions.models import CommissionEntry, Payment, Refund, StoredEvent
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db

_ids = itertools.count()
SWEEP = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BIGINT = 2**63 - 1
MAX_AMOUNT = 10**12  # the documented bound (services.MAX_AMOUNT)


@pytest.fixture
def customer(affiliate):
    return ReferralFactory(affiliate=affiliate, customer_id="cust-1")


def payment(**over):
    return {
        "payment_id": f"pay_{next(_ids)}",
        "customer_id": "cust-1",
        "amount": 4000,
        "currency": "USD",
        "paid_at": "2026-11-10T12:00:00Z",
        **over,
    }


@SWEEP
@given(amount=st.integers(-(2**70), 2**70))
@example(amount=0)
@example(amount=1)
@example(amount=MAX_AMOUNT)
@example(amount=MAX_AMOUNT + 1)
@example(amount=BIGINT)
@example(amount=BIGINT + 1)
def test_payment_amounts_outside_1_to_10_to_the_12_are_a_400_and_store_nothing(
    api, customer, amount
):
    stored = StoredEvent.objects.count()

    response = api.post("/api/v1/payments", payment(amount=amount), format="json")

    if 1 <= amount <= MAX_AMOUNT:
        assert response.status_code == 201
        assert StoredEvent.objects.count() == stored + 1
    else:
        assert response.status_code == 400
        assert "amount" in response.json()["error"]["fields"]
        assert StoredEvent.objects.count() == stored


@SWEEP
@given(
    paid_at=st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    )
)
@example(paid_at=datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC))
@example(paid_at=datetime(2000, 1, 1, tzinfo=UTC))
def test_payment_dates_outside_2000_to_a_day_from_now_are_a_400(api, customer, paid_at):
    latest = timezone.now() + timedelta(days=1)
    if abs(paid_at - latest) < timedelta(minutes=1):
        return  # the upper edge moves with the clock while the request runs
    stored = StoredEvent.objects.count()

    response = api.post("/api/v1/payments", payment(paid_at=paid_at.isoformat()), format="json")

    if datetime(2000, 1, 1, tzinfo=UTC) <= paid_at <= latest:
        assert response.status_code == 201
    else:
        assert response.status_code == 400
        assert "paid_at" in response.json()["error"]["fields"]
        assert StoredEvent.objects.count() == stored


def test_two_bigint_payments_are_refused_and_the_sweeper_runs_on(api, customer):
    from commissions.tasks import process_pending_events_task

    # given the two payments of 2^63 − 1 that once stopped the sweeper, and two of 10^12
    refused = [
        api.post("/api/v1/payments", payment(amount=BIGINT), format="json") for _ in range(2)
    ]
    accepted = [
        api.post("/api/v1/payments", payment(amount=MAX_AMOUNT), format="json") for _ in range(2)
    ]

    # when the every-minute sweeper runs (stage two, rollups' money sums)
    counts = process_pending_events_task()

    # then the largest payments sum to 2 × 10^12, far inside bigint
    assert [r.status_code for r in refused] == [400, 400]
    assert [r.status_code for r in accepted] == [201, 201]
    assert sum(Payment.objects.values_list("program_amount", flat=True)) == 2 * MAX_AMOUNT
    assert "error" not in counts


@SWEEP
@given(first=st.integers(1, 4000), second=st.integers(1, 5000))
def test_a_refund_beyond_what_is_left_is_a_409_and_changes_nothing(api, customer, first, second):
    pay = payment()
    api.post("/api/v1/payments", pay, format="json")

    def refund(amount):
        body = {
            "refund_id": f"ref_{next(_ids)}",
            "payment_id": pay["payment_id"],
            "amount": amount,
            "refunded_at": "2026-11-12T00:00:00Z",
        }
        return api.post("/api/v1/refunds", body, format="json")

    one, two = refund(first), refund(second)

    # a $40.00 payment: refunds add up to at most 4000
    assert one.status_code == 201
    if first + second <= 4000:
        assert two.status_code == 201
    else:
        assert two.status_code == 409
        assert two.json()["error"]["code"] == "refund_exceeds_payment"
    booked = Payment.objects.get(external_id=pay["payment_id"]).refunded_amount
    assert booked == first + (second if first + second <= 4000 else 0)


def test_a_refund_before_its_payment_was_made_is_refused(api, customer):
    pay = payment()
    api.post("/api/v1/payments", pay, format="json")

    response = api.post(
        "/api/v1/refunds",
        {
            "refund_id": "ref_early",
            "payment_id": pay["payment_id"],
            "amount": 100,
            "refunded_at": "2026-11-10T11:59:59Z",
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "refund_before_payment"
    assert not Refund.objects.exists()
    assert CommissionEntry.objects.get(kind="first_payment").state == "pending"


def test_a_stripe_refund_above_the_net_amount_is_booked_capped(referral):
    # Stripe refunds the charge including tax, which the payment's net amount leaves out.
    from tests.commissions.conftest import invoice, store_and_process, stripe_event

    t = int(datetime(2026, 11, 10, 12, tzinfo=UTC).timestamp())
    inv = invoice("in_tax", customer="cus_ref1", amount_paid=4400, tax=400, paid_at=t, plan="M")
    refund = {"id": "re_1", "charge": "ch_in_tax", "amount": 4400, "status": "succeeded"}

    store_and_process(
        [
            stripe_event("evt_1", "invoice.paid", inv, t),
            stripe_event("evt_2", "refund.created", {**refund, "created": t + 60}, t + 60),
        ],
        now=datetime(2026, 11, 11, tzinfo=UTC),
    )

    # net 4000 paid, all of it refunded; the 2000 entry declined
    assert Payment.objects.get().refunded_amount == 4000
    assert CommissionEntry.objects.get().state == "declined"
