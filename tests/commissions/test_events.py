"""Stage one (store, verify) and stage two (process, reprocess) of Stripe events."""

import json
import threading
import time
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from commissions import ingest
from commissions.models import CommissionEntry, Payment, PlanChange, StoredEvent
from tests.commissions.conftest import (
    WEBHOOK_SECRET,
    invoice,
    sign,
    store_and_process,
    stripe_event,
)
from tests.factories import AffiliateFactory, ReferralFactory

NOV = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
T = int(NOV.timestamp())
URL = "/webhooks/stripe/"


def post_signed(client, event: dict, *, secret=WEBHOOK_SECRET, timestamp=None, header=True):
    body = json.dumps(event).encode()
    extra = (
        {"HTTP_STRIPE_SIGNATURE": sign(body, secret=secret, timestamp=timestamp)} if header else {}
    )
    return client.post(URL, data=body, content_type="application/json", **extra)


def ledger_snapshot():
    return sorted(
        (
            e.source_type,
            e.kind,
            e.affiliate_id,
            e.amount,
            e.currency,
            e.rule,
            e.rate_bp,
            e.base_amount,
            e.approve_after,
        )
        for e in CommissionEntry.objects.all()
    )


# --- stage one ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_signed_webhook_is_stored_once_and_answered_200(webhook_settings, client):
    event = stripe_event(
        "evt_1", "invoice.paid", invoice("in_1", customer="cus_x", amount_paid=4000, paid_at=T), T
    )

    first = post_signed(client, event)
    again = post_signed(client, event)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {"received": True, "duplicate": True}
    assert StoredEvent.objects.get().payload == event


@pytest.mark.django_db
@pytest.mark.parametrize(
    "how",
    ["forged", "unsigned", "stale", "garbage"],
)
def test_forged_unsigned_or_stale_webhook_gets_400_json_and_stores_nothing(
    webhook_settings, client, how
):
    event = stripe_event("evt_1", "invoice.paid", {"id": "in_1"}, T)
    if how == "forged":
        response = post_signed(client, event, secret="whsec_someone_else")
    elif how == "unsigned":
        response = post_signed(client, event, header=False)
    elif how == "stale":  # signed 301 s ago: outside the 300 s tolerance
        response = post_signed(client, event, timestamp=int(time.time()) - 301)
    else:
        response = client.post(
            URL,
            data=b"not json",
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=sign(b"not json"),
        )

    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("invalid_signature", "invalid")
    assert not StoredEvent.objects.exists()


@pytest.mark.django_db
def test_webhook_answers_503_when_stripe_is_not_configured(settings, client):
    settings.STRIPE_WEBHOOK_SECRET = ""
    response = client.post(URL, data=b"{}", content_type="application/json")
    assert response.status_code == 503
    assert not StoredEvent.objects.exists()


# --- stage two ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_invoice_paid_creates_a_payment_net_of_tax_and_its_entries(referral):
    # given a $44.00 invoice with $4.00 tax for the referred Stripe customer
    inv = invoice("in_1", customer="cus_ref1", amount_paid=4400, tax=400, paid_at=T, plan="Pro")

    # when Stripe sends both invoice.paid and invoice.payment_succeeded for it
    store_and_process(
        [
            stripe_event("evt_1", "invoice.paid", inv, T),
            stripe_event("evt_2", "invoice.payment_succeeded", inv, T),
        ],
        now=NOV,
    )

    # then one payment of 4000 (net of tax) and 4000 × 50 % = 2000 + the $100.00 Pro bonus
    payment = Payment.objects.get()
    assert (payment.external_id, payment.amount, payment.tax, payment.is_first) == (
        "in_1",
        4000,
        400,
        True,
    )
    assert sorted((e.kind, e.amount) for e in CommissionEntry.objects.all()) == [
        ("first_payment", 2000),
        ("plan_bonus", 10_000),
    ]
    assert payment.paid_at == NOV


@pytest.mark.django_db
def test_same_event_delivered_ten_times_makes_one_payment_and_one_set_of_entries(
    referral, webhook_settings, client
):
    event = stripe_event(
        "evt_1",
        "invoice.paid",
        invoice("in_1", customer="cus_ref1", amount_paid=4000, paid_at=T),
        T,
    )

    for _ in range(10):
        assert post_signed(client, event).status_code == 200
        ingest.process_pending_events(now=NOV)

    assert StoredEvent.objects.count() == 1
    assert Payment.objects.count() == 1
    assert CommissionEntry.objects.filter(kind="first_payment").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_same_event_delivered_ten_times_concurrently_makes_one_payment(settings):
    # given a referred customer, and the same invoice event under 10 event ids... no: the
    # same event id, posted by 10 threads at once, each then running stage two
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    ReferralFactory(affiliate=AffiliateFactory(), stripe_customer_id="cus_c")
    inv = invoice("in_c", customer="cus_c", amount_paid=4000, paid_at=T)
    same_event = stripe_event("evt_c", "invoice.paid", inv, T)
    # plus the twin event real Stripe sends for the same invoice
    twin = stripe_event("evt_c2", "invoice.payment_succeeded", inv, T)
    errors = []

    def deliver(event):
        try:
            assert post_signed(Client(), event).status_code == 200
            ingest.process_pending_events(now=NOV)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=deliver, args=(same_event if i < 7 else twin,)) for i in range(10)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ingest.process_pending_events(now=NOV)

    assert errors == []
    assert StoredEvent.objects.count() == 2
    assert Payment.objects.count() == 1
    assert CommissionEntry.objects.filter(kind="first_payment").count() == 1
    assert StoredEvent.objects.filter(processed_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_events_of_customers_nobody_referred_are_stored_and_skipped():
    ReferralFactory(affiliate=None, stripe_customer_id="cus_none", source="none")
    store_and_process(
        [
            stripe_event(
                "evt_1",
                "invoice.paid",
                invoice("in_1", customer="cus_stranger", amount_paid=4000, paid_at=T),
                T,
            ),
            stripe_event(
                "evt_2",
                "invoice.paid",
                invoice("in_2", customer="cus_none", amount_paid=4000, paid_at=T),
                T,
            ),
        ],
        now=NOV,
    )
    assert set(StoredEvent.objects.values_list("outcome", flat=True)) == {"skipped"}
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_customer_metadata_links_a_stripe_customer_to_the_referral(affiliate):
    # given a referral known only by the product's customer id
    ReferralFactory(affiliate=affiliate, customer_id="acct-42", stripe_customer_id=None)

    # when Stripe reports a customer with metadata.ambassador_customer_id, then an invoice
    store_and_process(
        [
            stripe_event(
                "evt_c",
                "customer.created",
                {"id": "cus_new", "metadata": {"ambassador_customer_id": "acct-42"}},
                T - 10,
            ),
            stripe_event(
                "evt_i",
                "invoice.paid",
                invoice("in_1", customer="cus_new", amount_paid=4000, paid_at=T),
                T,
            ),
        ],
        now=NOV,
    )

    # then the payment is credited: 4000 × 50 % = 2000
    assert Payment.objects.get().customer_id == "acct-42"
    assert CommissionEntry.objects.get(kind="first_payment").amount == 2000


@pytest.mark.django_db
def test_charge_refunded_and_disputes_flow_through_stage_two(referral):
    inv = invoice(
        "in_1", customer="cus_ref1", amount_paid=4000, paid_at=T, plan="Monthly", charge="ch_1"
    )
    store_and_process(
        [
            stripe_event("evt_1", "invoice.paid", inv, T),
            stripe_event(
                "evt_2",
                "charge.refunded",
                {
                    "id": "ch_1",
                    "amount_refunded": 1000,
                    "currency": "usd",
                    "refunds": {
                        "data": [
                            {
                                "id": "re_1",
                                "amount": 1000,
                                "status": "succeeded",
                                "charge": "ch_1",
                                "created": T + 60,
                            }
                        ]
                    },
                },
                T + 60,
            ),
            stripe_event(
                "evt_3",
                "charge.dispute.created",
                {
                    "id": "dp_1",
                    "charge": "ch_1",
                    "amount": 3000,
                    "currency": "usd",
                    "status": "needs_response",
                },
                T + 120,
            ),
        ],
        now=NOV,
    )
    # $10.00 refunded: 2000 declined, kept 3000 × 50 % = 1500 pending; disputed → frozen
    assert sorted((e.amount, e.state) for e in CommissionEntry.objects.all()) == [
        (1500, "pending"),
        (2000, "declined"),
    ]
    assert Payment.objects.get().dispute_state == "open"

    store_and_process(
        [
            stripe_event(
                "evt_4",
                "charge.dispute.closed",
                {
                    "id": "dp_1",
                    "charge": "ch_1",
                    "amount": 3000,
                    "currency": "usd",
                    "status": "lost",
                },
                T + 600,
            )
        ],
        now=NOV,
    )
    # lost: the kept-share entry is declined as well
    assert sorted((e.amount, e.state) for e in CommissionEntry.objects.all()) == [
        (1500, "declined"),
        (2000, "declined"),
    ]


@pytest.mark.django_db
def test_subscription_updates_record_plan_changes(referral):
    store_and_process(
        [
            stripe_event(
                "evt_1",
                "customer.subscription.updated",
                {
                    "id": "sub_1",
                    "customer": "cus_ref1",
                    "status": "active",
                    "plan": {"id": "plan_biz", "nickname": "Business"},
                },
                T,
            ),
            stripe_event(
                "evt_2",
                "customer.subscription.deleted",
                {
                    "id": "sub_1",
                    "customer": "cus_ref1",
                    "status": "canceled",
                    "plan": {"id": "plan_biz", "nickname": "Business"},
                },
                T + 5,
            ),
        ],
        now=NOV,
    )
    assert list(
        PlanChange.objects.order_by("changed_at").values_list("product_plan", "status")
    ) == [("Business", "active"), ("Business", "canceled")]


@pytest.mark.django_db
def test_reprocessing_from_the_store_reproduces_the_same_ledger(referral):
    # given two paid invoices and a refund, processed
    store_and_process(
        [
            stripe_event(
                "evt_1",
                "invoice.paid",
                invoice("in_1", customer="cus_ref1", amount_paid=4000, paid_at=T, charge="ch_1"),
                T,
            ),
            stripe_event(
                "evt_2",
                "invoice.paid",
                invoice(
                    "in_2",
                    customer="cus_ref1",
                    amount_paid=4000,
                    paid_at=T + 86400 * 30,
                    charge="ch_2",
                ),
                T + 86400 * 30,
            ),
            stripe_event(
                "evt_3",
                "refund.created",
                {
                    "id": "re_1",
                    "charge": "ch_2",
                    "amount": 4000,
                    "status": "succeeded",
                    "currency": "usd",
                    "created": T + 86400 * 31,
                },
                T + 86400 * 31,
            ),
        ],
        now=NOV,
    )
    before = ledger_snapshot()

    # when stage two is re-run over the whole store, twice
    call_command("process_events", "--reprocess")
    call_command("process_events", "--reprocess", "--since", "2026-01-01T00:00:00+00:00")

    # then the ledger is the same, row for row
    assert ledger_snapshot() == before
    # first 4000 × 50 % = 2000, Pro bonus 10000, recurring 4000 × 20 % = 800 (declined)
    assert sorted(row[3] for row in before) == [800, 2000, 10_000]
    assert CommissionEntry.objects.get(amount=800).state == "declined"


@pytest.mark.django_db
def test_reprocess_after_a_rule_fix_inserts_only_the_missing_entries(affiliate, default_plan):
    # given a Starter payment processed while the default plan had no Starter bonus (a bug)
    default_plan.bonuses.filter(product_plan="Starter").delete()
    ReferralFactory(affiliate=affiliate, stripe_customer_id="cus_b")
    store_and_process(
        [
            stripe_event(
                "evt_1",
                "invoice.paid",
                invoice("in_1", customer="cus_b", amount_paid=1000, paid_at=T, plan="Starter"),
                T,
            )
        ],
        now=NOV,
    )
    original = CommissionEntry.objects.get()

    # when the rule is fixed and stage two re-run
    default_plan.bonuses.create(product_plan="Starter", amount=5000, hold_days=60)
    call_command("process_events", "--reprocess", "--since", "2026-11-01T00:00:00+00:00")

    # then the $50.00 bonus is inserted; the original 1000 × 50 % = 500 entry is untouched
    assert sorted(CommissionEntry.objects.values_list("kind", "amount")) == [
        ("first_payment", 500),
        ("plan_bonus", 5000),
    ]
    original_now = CommissionEntry.objects.get(pk=original.pk)
    assert (original_now.amount, original_now.created_at) == (500, original.created_at)


SEEN: list[str] = []


def record_seen(event):  # a handler the tests below list in STRIPE_EVENT_HANDLERS
    SEEN.append(event.event_id)


def broken(event):
    raise RuntimeError("bug")


def with_handler(settings, event_type: str, handler: str) -> None:
    """List one more handler for `event_type`, as another app's settings entry would."""
    table = settings.STRIPE_EVENT_HANDLERS
    settings.STRIPE_EVENT_HANDLERS = {**table, event_type: [*table.get(event_type, []), handler]}


@pytest.mark.django_db
def test_other_apps_register_their_own_handlers(settings):
    seen = SEEN
    seen.clear()
    with_handler(settings, "account.updated", f"{__name__}.record_seen")
    store_and_process([stripe_event("evt_acct", "account.updated", {"id": "acct_1"}, T)], now=NOV)
    assert seen == ["evt_acct"]
    assert StoredEvent.objects.get().outcome == "processed"


@pytest.mark.django_db
def test_a_failing_handler_leaves_the_event_for_a_retry(settings):
    with_handler(settings, "test.broken", f"{__name__}.broken")
    store_and_process([stripe_event("evt_b", "test.broken", {"id": "x"}, T)], now=NOV)
    row = StoredEvent.objects.get()
    assert (row.processed_at, row.outcome, row.attempts) == (None, "error", 1)


@pytest.mark.django_db
def test_sweeper_writes_signup_entries_whose_task_was_lost(default_plan, now):
    from commissions.tasks import process_pending_events_task

    referral = ReferralFactory(affiliate=AffiliateFactory())

    process_pending_events_task()
    process_pending_events_task()

    [entry] = CommissionEntry.objects.filter(kind="signup")
    assert (entry.source_id, entry.amount) == (str(referral.pk), 25)
