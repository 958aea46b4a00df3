"""End to end against localstripe, a stateful fake Stripe on 127.0.0.1, through the official
SDK (via commissions.gateways.stripe): customer → subscription → paid invoice → refund;
signed webhooks to a live server; and `sync_stripe` picking up the same events."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request

import pytest
from django.core.management import call_command
from django.utils import timezone

import commissions.gateways.stripe as stripe_gateway
from commissions.ingest import process_pending_events
from commissions.models import CommissionEntry, Payment, Refund, StoredEvent
from tests.commissions.conftest import WEBHOOK_SECRET, localstripe_log
from tests.factories import AffiliateFactory, ReferralFactory, default_plan_with_tiers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def stripe_settings(settings, localstripe_url):
    settings.STRIPE_SECRET_KEY = "sk_test_localstripe"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe_url
    # Each test starts from an empty localstripe store.
    urllib.request.urlopen(
        urllib.request.Request(f"{localstripe_url}/_config/data", method="DELETE"), timeout=5
    )
    return settings


def register_webhook(localstripe_url: str, target: str) -> None:
    body = urllib.parse.urlencode({"url": target, "secret": WEBHOOK_SECRET}).encode()
    urllib.request.urlopen(f"{localstripe_url}/_config/webhooks/ambassador", data=body, timeout=5)


def paying_customer(*, customer_id: str, price: int = 4000, nickname: str = "Pro"):
    """Customer with a card, a monthly plan and a subscription: localstripe bills the first
    invoice at once and marks it paid."""
    sdk = stripe_gateway.client()
    customer = sdk.v1.customers.create(
        {
            "email": f"{customer_id}@customer.test",
            "metadata": {"ambassador_customer_id": customer_id},
        }
    )
    card = sdk.v1.payment_methods.create(
        {
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2035, "cvc": "123"},
        }
    )
    sdk.v1.payment_methods.attach(card.id, {"customer": customer.id})
    sdk.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": card.id}})
    plan = sdk.v1.plans.create(
        {
            "amount": price,
            "currency": "usd",
            "interval": "month",
            "product": {"name": nickname},
            "nickname": nickname,
        }
    )
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"plan": plan.id}]}
    )
    invoice = sdk.v1.invoices.retrieve(subscription.latest_invoice).to_dict()
    return customer, invoice


def wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for webhooks")


def test_signed_webhooks_from_localstripe_create_payment_and_entries(
    stripe_settings, serial_live_server
):
    # given a referred customer (known by our customer id) and the webhook registered
    default_plan_with_tiers()
    affiliate = AffiliateFactory()
    ReferralFactory(affiliate=affiliate, customer_id="acct-ls-1", stripe_customer_id=None)
    register_webhook(stripe_settings.STRIPE_API_BASE, f"{serial_live_server}/webhooks/stripe/")

    # when the customer subscribes to Pro at $40.00/month (paid at once)
    customer, invoice = paying_customer(customer_id="acct-ls-1")
    # (waiting on localstripe's delivery log, not the database the server thread writes)
    base = stripe_settings.STRIPE_API_BASE
    for event_type in ("invoice.payment_succeeded", "customer.subscription.created"):
        wait_for(
            lambda t=event_type: f'webhook "{t}" successfully delivered' in localstripe_log(base)
        )
    time.sleep(0.5)
    process_pending_events(now=timezone.now())

    # then one payment of 4000 for the invoice and 4000 × 50 % = 2000 + the $100.00 Pro bonus
    payment = Payment.objects.get()
    assert (payment.external_id, payment.amount, payment.currency) == (invoice["id"], 4000, "USD")
    assert sorted(CommissionEntry.objects.values_list("kind", "amount")) == [
        ("first_payment", 2000),
        ("plan_bonus", 10_000),
    ]
    assert StoredEvent.objects.filter(via="webhook").count() >= 3

    # when $10.00 is refunded (localstripe sends no refund webhook) and the sync runs
    charge_id = (
        invoice["charge"]["id"] if isinstance(invoice["charge"], dict) else invoice["charge"]
    )
    stripe_gateway.client().v1.refunds.create({"charge": charge_id, "amount": 1000})
    call_command("sync_stripe")
    process_pending_events(now=timezone.now())

    # then the refund is booked: 2000 declined, kept 3000 × 50 % = 1500 pending
    assert Refund.objects.get().amount == 1000
    assert sorted(
        CommissionEntry.objects.filter(kind="first_payment").values_list("amount", "state")
    ) == [(1500, "pending"), (2000, "declined")]


def test_sync_stripe_picks_up_the_same_events_without_webhooks(stripe_settings):
    # given a referred customer and no webhook registered (every delivery "missed")
    default_plan_with_tiers()
    ReferralFactory(affiliate=AffiliateFactory(), customer_id="acct-ls-2", stripe_customer_id=None)
    urllib.request.urlopen(
        f"{stripe_settings.STRIPE_API_BASE}/_config/webhooks/ambassador",
        data=urllib.parse.urlencode(
            {"url": "http://127.0.0.1:9/", "secret": WEBHOOK_SECRET}
        ).encode(),
        timeout=5,
    )
    customer, invoice = paying_customer(customer_id="acct-ls-2", price=1000, nickname="Starter")

    # when sync_stripe runs twice (the second finds nothing new) and stage two runs
    call_command("sync_stripe")
    stored = StoredEvent.objects.count()
    call_command("sync_stripe")
    process_pending_events(now=timezone.now())

    # then the same events are stored once each, and the $10.00 Starter payment earns
    # 1000 × 50 % = 500 and the $50.00 Starter bonus
    assert StoredEvent.objects.count() == stored
    assert set(StoredEvent.objects.values_list("type", flat=True)) >= {
        "customer.created",
        "invoice.payment_succeeded",
        "customer.subscription.created",
    }
    assert set(StoredEvent.objects.values_list("via", flat=True)) == {"sync"}
    assert Payment.objects.get().external_id == invoice["id"]
    assert sorted(CommissionEntry.objects.values_list("kind", "amount")) == [
        ("first_payment", 500),
        ("plan_bonus", 5000),
    ]
    assert json.dumps(StoredEvent.objects.first().payload)  # stored verbatim, JSON-clean
