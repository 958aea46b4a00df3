"""Payments in a currency without a known exchange rate are stored and wait; they are
computed, with the rate, as soon as one is entered (services: "Exchange rates")."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from commissions import services
from commissions.models import CommissionEntry, ExchangeRate, Payment, StoredEvent
from commissions.services import set_exchange_rate
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db

PAYMENT = {
    "payment_id": "pay_eur",
    "customer_id": "cust-1",
    "amount": 4000,
    "currency": "EUR",
    "paid_at": "2026-11-10T12:00:00Z",
    "plan": "Monthly",
}
JAN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def customer(affiliate):
    return ReferralFactory(affiliate=affiliate, customer_id="cust-1")


@pytest.fixture
def eager_celery(monkeypatch):
    """Tasks enqueued on commit run inline, so "processed by itself" is observable. They are
    sent by name (config.queue), which Celery's eager mode ignores: run them here."""
    from config.celery import app

    app.loader.import_default_modules()  # the apps' tasks modules, as a worker loads them
    monkeypatch.setattr(
        app, "send_task", lambda name, kwargs=None, **options: app.tasks[name].apply(kwargs=kwargs)
    )
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def payment_entries():
    return sorted(
        CommissionEntry.objects.filter(payment__isnull=False).values_list(
            "kind", "amount", "currency", "fx_rate", "state"
        )
    )


def test_euro_payment_without_a_rate_is_stored_and_waits_with_no_entries(api, customer):
    response = api.post("/api/v1/payments", PAYMENT, format="json")

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "waiting_for_rate"
    assert "No EUR → USD exchange rate" in body["reason"]
    assert body["commissions"] == []
    payment = Payment.objects.get()
    assert (payment.status, payment.fx_rate, payment.program_amount) == (
        "waiting_for_rate",
        None,
        None,
    )
    assert StoredEvent.objects.get().outcome == "processed"
    assert not CommissionEntry.objects.filter(source_type="payment").exists()


def test_entering_the_rate_computes_the_waiting_payment_with_that_rate(
    api, customer, eager_celery, django_capture_on_commit_callbacks
):
    api.post("/api/v1/payments", PAYMENT, format="json")

    with django_capture_on_commit_callbacks(execute=True):
        set_exchange_rate(currency="EUR", rate=Decimal("1.08"), valid_from=JAN)

    # €40.00 first payment, tier 1 of the default plan: 4000 × 50 % = 2000 euro cents,
    # with the rate recorded; program amount 4000 × 1.08 = 4320 US cents.
    payment = Payment.objects.get()
    assert (payment.status, payment.fx_rate, payment.program_amount) == (
        "computed",
        Decimal("1.08"),
        4320,
    )
    assert payment_entries() == [("first_payment", 2000, "EUR", Decimal("1.08"), "pending")]
    again = api.post("/api/v1/payments", PAYMENT, format="json")
    assert (again.status_code, again.json()["status"]) == (200, "recorded")


def test_a_rate_valid_only_after_the_payment_leaves_it_waiting(api, customer):
    api.post("/api/v1/payments", PAYMENT, format="json")

    set_exchange_rate(
        currency="EUR", rate=Decimal("1.08"), valid_from=datetime(2026, 11, 11, tzinfo=UTC)
    )
    services.process_waiting_payments(now=datetime(2026, 11, 12, tzinfo=UTC))

    assert Payment.objects.get().status == "waiting_for_rate"
    assert not CommissionEntry.objects.filter(source_type="payment").exists()


def test_saving_a_rate_in_admin_processes_the_waiting_payments(
    api, customer, admin_client, eager_celery, django_capture_on_commit_callbacks
):
    api.post("/api/v1/payments", PAYMENT, format="json")
    listed = admin_client.get("/admin/commissions/payment/?attention=waiting_for_rate")
    assert "pay_eur" in listed.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/commissions/exchangerate/add/",
            {
                "currency": "eur",
                "rate": "1.08",
                "valid_from_0": "2026-01-01",
                "valid_from_1": "00:00:00",
            },
        )

    assert response.status_code == 302
    assert ExchangeRate.objects.get().currency == "EUR"
    assert payment_entries() == [("first_payment", 2000, "EUR", Decimal("1.08"), "pending")]
    listed = admin_client.get("/admin/commissions/payment/?attention=waiting_for_rate")
    assert "pay_eur" not in listed.content.decode()


def test_the_sweeper_processes_a_waiting_payment_whose_enqueue_was_lost(api, customer):
    from commissions.tasks import process_pending_events_task

    api.post("/api/v1/payments", PAYMENT, format="json")
    # a rate written without the service (no on-commit task at all)
    ExchangeRate.objects.create(currency="EUR", rate=Decimal("1.08"), valid_from=JAN)

    process_pending_events_task()

    assert payment_entries() == [("first_payment", 2000, "EUR", Decimal("1.08"), "pending")]


def test_euro_payment_with_its_exchange_rate_is_computed_at_once(api, customer):
    response = api.post("/api/v1/payments", {**PAYMENT, "exchange_rate": "1.0825"}, format="json")

    # 4000 × 50 % = 2000 euro cents; program amount 4000 × 1.0825 = 4330 US cents
    assert response.status_code == 201
    assert response.json()["status"] == "recorded"
    assert response.json()["exchange_rate"] == "1.0825"
    payment = Payment.objects.get()
    assert (payment.fx_rate, payment.fx_source, payment.program_amount) == (
        Decimal("1.0825"),
        "provider",
        4330,
    )
    assert payment_entries() == [("first_payment", 2000, "EUR", Decimal("1.0825"), "pending")]


def test_same_currency_payment_is_computed_at_once_with_no_rate_anywhere(api, customer):
    response = api.post("/api/v1/payments", {**PAYMENT, "currency": "USD"}, format="json")

    # 4000 × 50 % = 2000 US cents at rate 1
    assert response.status_code == 201
    assert payment_entries() == [("first_payment", 2000, "USD", Decimal(1), "pending")]


def test_exchange_rate_for_the_program_currency_must_be_one(api, customer):
    response = api.post(
        "/api/v1/payments", {**PAYMENT, "currency": "USD", "exchange_rate": "0.9"}, format="json"
    )

    assert response.status_code == 400
    assert "exchange_rate" in response.json()["error"]["fields"]
    assert not StoredEvent.objects.exists()


def test_refund_of_a_waiting_payment_is_booked_when_its_entries_are_computed(
    api, customer, eager_celery, django_capture_on_commit_callbacks
):
    api.post("/api/v1/payments", PAYMENT, format="json")
    refund = {
        "refund_id": "ref_1",
        "payment_id": "pay_eur",
        "amount": 1000,
        "refunded_at": "2026-11-12T00:00:00Z",
    }

    waiting = api.post("/api/v1/refunds", refund, format="json")
    too_much = api.post(
        "/api/v1/refunds", {**refund, "refund_id": "ref_2", "amount": 3001}, format="json"
    )
    with django_capture_on_commit_callbacks(execute=True):
        set_exchange_rate(currency="EUR", rate=Decimal("1.08"), valid_from=JAN)

    # the refund waits with the payment; €30.00 is what is left, so €30.01 more is refused
    assert (waiting.status_code, waiting.json()["status"]) == (201, "waiting_for_rate")
    assert too_much.json()["error"]["code"] == "refund_exceeds_payment"
    # then booked as if it had come after: 2000 declined; kept €30.00 × 50 % = 1500 pending
    assert payment_entries() == [
        ("first_payment", 1500, "EUR", Decimal("1.08"), "pending"),
        ("first_payment", 2000, "EUR", Decimal("1.08"), "declined"),
    ]
    assert Payment.objects.get().refunded_amount == 1000


def test_a_tier_waits_for_last_months_payment_without_a_rate(affiliate, now):
    # given a €600.00 October payment waiting for its rate (the tier of November depends
    # on it: counted as 0 it would be tier 1, converted it is tier 2)
    from tests.commissions.conftest import pay

    referral = ReferralFactory(affiliate=affiliate)
    october = pay(
        referral,
        external_id="oct",
        amount=60000,
        currency="EUR",
        paid_at=datetime(2026, 10, 15, tzinfo=UTC),
        now=now,
    )
    # when the customer pays $40.00 in November
    november = pay(
        referral,
        external_id="nov",
        amount=4000,
        paid_at=datetime(2026, 11, 1, 13, tzinfo=UTC),
        now=now,
    )

    # then November waits for October's rate too
    november.refresh_from_db()
    assert (october.status, november.status, november.blocked_by_id) == (
        "waiting_for_rate",
        "waiting_for_rate",
        october.pk,
    )
    assert "oct" in november.status_reason

    set_exchange_rate(currency="EUR", rate=Decimal("1.08"), valid_from=JAN)
    assert services.process_waiting_payments(now=now, currency="EUR") == 2

    # October: first payment, 60000 × 50 % = 30000 euro cents; program 60000 × 1.08 =
    # 64800 US cents ≥ 50000, so November is tier 2: recurring 4000 × 25 % = 1000 cents
    assert sorted(
        CommissionEntry.objects.filter(source_type="payment").values_list(
            "payment__external_id", "kind", "amount", "currency"
        )
    ) == [("nov", "recurring", 1000, "USD"), ("oct", "first_payment", 30000, "EUR")]


def test_stripe_invoice_uses_the_balance_transactions_rate(referral):
    from tests.commissions.conftest import invoice, store_and_process, stripe_event

    t = int(datetime(2026, 11, 10, 12, tzinfo=UTC).timestamp())
    inv = invoice(
        "in_eur", customer="cus_ref1", amount_paid=4000, paid_at=t, currency="eur", plan="Monthly"
    )
    inv["charge"] = {"id": "ch_eur", "balance_transaction": {"exchange_rate": 1.0825}}

    store_and_process([stripe_event("evt_eur", "invoice.paid", inv, t)], now=datetime.now(UTC))

    # 4000 × 50 % = 2000 euro cents; program 4000 × 1.0825 = 4330 US cents
    payment = Payment.objects.get()
    assert (payment.status, payment.fx_rate, payment.program_amount) == (
        "computed",
        Decimal("1.0825"),
        4330,
    )
    assert payment_entries() == [("first_payment", 2000, "EUR", Decimal("1.0825"), "pending")]


def test_a_dispute_lost_while_the_payment_waited_is_booked_when_it_is_computed(api, customer, now):
    from commissions.services import record_dispute

    api.post("/api/v1/payments", PAYMENT, format="json")
    record_dispute(
        provider="api",
        external_id="dp_1",
        payment_ref="pay_eur",
        amount=4000,
        currency="EUR",
        status="lost",
        at=now,
        now=now,
    )

    set_exchange_rate(currency="EUR", rate=Decimal("1.08"), valid_from=JAN)
    services.process_waiting_payments(now=now)

    # the 2000 entry is written, then declined by the lost dispute (all 4000 reversed)
    assert payment_entries() == [("first_payment", 2000, "EUR", Decimal("1.08"), "declined")]
    assert Payment.objects.get().refunded_amount == 4000
