"""Payments / refunds API (idempotent on external ids) and the commissions list."""

from datetime import UTC, datetime

import pytest

from commissions.models import CommissionEntry, Payment, StoredEvent
from tests.factories import AffiliateFactory, CommissionEntryFactory, ReferralFactory

pytestmark = pytest.mark.django_db

PAYMENT = {
    "payment_id": "pay_1",
    "customer_id": "cust-1",
    "amount": 4000,
    "currency": "USD",
    "paid_at": "2026-11-10T12:00:00Z",
    "plan": "Monthly",
}


@pytest.fixture
def customer(affiliate):
    return ReferralFactory(affiliate=affiliate, customer_id="cust-1")


def test_payment_is_recorded_with_its_commission(api, customer):
    response = api.post("/api/v1/payments", PAYMENT, format="json")

    # 4000 × 50 % = 2000 for a first payment on the default plan's first tier
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "recorded"
    assert [(c["kind"], c["amount"], c["currency"]) for c in body["commissions"]] == [
        ("first_payment", 2000, "USD")
    ]


def test_repeating_a_payment_returns_the_first_answer_and_writes_nothing(api, customer):
    first = api.post("/api/v1/payments", PAYMENT, format="json")
    again = api.post("/api/v1/payments", PAYMENT, format="json")

    assert again.status_code == 200
    assert again.json() == first.json()
    assert Payment.objects.count() == 1
    assert CommissionEntry.objects.count() == 1


def test_same_payment_id_with_different_content_is_a_409(api, customer):
    api.post("/api/v1/payments", PAYMENT, format="json")

    response = api.post("/api/v1/payments", {**PAYMENT, "amount": 5000}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert Payment.objects.get().amount == 4000


@pytest.mark.parametrize(
    "bad",
    [{"amount": "40.00"}, {"amount": -1}, {"currency": "JPY"}, {"paid_at": "yesterday"}],
)
def test_bad_payment_is_a_400_and_changes_nothing(api, customer, bad):
    response = api.post("/api/v1/payments", {**PAYMENT, **bad}, format="json")
    assert response.status_code == 400
    assert "error" in response.json()
    assert not StoredEvent.objects.exists()


def test_unreferred_customer_payment_is_accepted_and_skipped(api, default_plan):
    response = api.post("/api/v1/payments", {**PAYMENT, "customer_id": "stranger"}, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "skipped"
    assert not Payment.objects.exists()


def test_refund_declines_the_pending_entry_and_is_idempotent(api, customer):
    api.post("/api/v1/payments", PAYMENT, format="json")
    refund = {
        "refund_id": "ref_1",
        "payment_id": "pay_1",
        "amount": 4000,
        "refunded_at": "2026-11-12T00:00:00Z",
    }

    first = api.post("/api/v1/refunds", refund, format="json")
    again = api.post("/api/v1/refunds", refund, format="json")
    conflict = api.post("/api/v1/refunds", {**refund, "amount": 100}, format="json")

    assert (first.status_code, again.status_code, conflict.status_code) == (201, 200, 409)
    assert first.json()["status"] == "applied"
    assert CommissionEntry.objects.get().state == "declined"


def test_refund_before_its_payment_waits_and_is_applied_on_arrival(api, customer):
    refund = {
        "refund_id": "ref_1",
        "payment_id": "pay_1",
        "amount": 4000,
        "refunded_at": "2026-11-12T00:00:00Z",
    }

    waiting = api.post("/api/v1/refunds", refund, format="json")
    api.post("/api/v1/payments", PAYMENT, format="json")

    assert waiting.json()["status"] == "waiting_for_payment"
    assert CommissionEntry.objects.get().state == "declined"


def test_payments_api_needs_a_key(anon_api):
    assert anon_api.post("/api/v1/payments", PAYMENT, format="json").status_code == 401


def test_commissions_list_filters_by_affiliate_state_and_kind(api):
    mine, other = AffiliateFactory(), AffiliateFactory()
    CommissionEntryFactory(affiliate=mine, kind="signup", amount=25)
    CommissionEntryFactory(
        affiliate=mine,
        kind="recurring",
        amount=800,
        state="approved",
        approved_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    CommissionEntryFactory(affiliate=other)

    all_mine = api.get(f"/api/v1/commissions?affiliate={mine.public_id}").json()
    approved = api.get(f"/api/v1/commissions?affiliate={mine.public_id}&state=approved").json()
    signups = api.get(f"/api/v1/commissions?affiliate={mine.public_id}&kind=signup").json()

    assert all_mine["count"] == 2
    assert [r["amount"] for r in approved["results"]] == [800]
    assert set(signups["results"][0]) == {
        "id",
        "kind",
        "amount",
        "currency",
        "state",
        "source_id",
        "created_at",
        "approve_after",
    }
    assert signups["results"][0]["amount"] == 25


def test_commissions_list_errors(api):
    assert api.get("/api/v1/commissions").status_code == 400
    assert api.get("/api/v1/commissions?affiliate=nope").status_code == 404
    assert (
        api.get(f"/api/v1/commissions?affiliate={AffiliateFactory().public_id}&state=x").status_code
        == 400
    )


def test_balances_per_currency(now):
    from commissions.selectors import balances_for

    a = AffiliateFactory()
    CommissionEntryFactory(affiliate=a, amount=1000)
    CommissionEntryFactory(
        affiliate=a, amount=500, currency="EUR", state="approved", approved_at=now
    )
    CommissionEntryFactory(affiliate=a, amount=300, state="declined", declined_at=now)

    assert balances_for(affiliate_id=a.pk) == {
        "USD": {"pending": 1000, "approved": 0, "in_payout": 0, "paid": 0},
        "EUR": {"pending": 0, "approved": 500, "in_payout": 0, "paid": 0},
    }


def test_done_when_from_outside(api, customer, capsys):
    # given a referred customer's $40.00 payment through the API → 2000 pending
    from django.core.management import call_command

    api.post("/api/v1/payments", PAYMENT, format="json")
    before_reprocess = None

    # when approve_commissions runs 31 days later
    call_command("approve_commissions", "--now", "2026-12-11T12:00:00+00:00")
    # and the payment is then refunded in full
    api.post(
        "/api/v1/refunds",
        {
            "refund_id": "ref_9",
            "payment_id": "pay_1",
            "amount": 4000,
            # (within the bounds: not more than a day after the real clock's now)
            "refunded_at": "2026-11-20T00:00:00Z",
        },
        format="json",
    )
    before_reprocess = sorted(CommissionEntry.objects.values_list("kind", "amount", "state"))
    call_command("check_ledger")
    call_command("process_events", "--reprocess")

    # then 2000 approved and a −2000 approved clawback; the ledger checks out; and
    # reprocessing the store leaves the same ledger
    assert before_reprocess == [
        ("clawback", -2000, "approved"),
        ("first_payment", 2000, "approved"),
    ]
    assert "ledger OK" in capsys.readouterr().out
    assert (
        sorted(CommissionEntry.objects.values_list("kind", "amount", "state")) == before_reprocess
    )
