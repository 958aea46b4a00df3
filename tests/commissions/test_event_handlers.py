"""The one table of stage-two handlers (settings.STRIPE_EVENT_HANDLERS): every entry
resolves, every event type handled before the table existed is in it, and nothing is
registered at import time behind its back."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from commissions import ingest
from commissions.ingest import stripe_handlers
from payouts.services import handle_stripe_event

# What the webhook, the events sync, the Connect endpoint and the API stored and handled
# before the table (events.py's register_handler calls and payouts' AppConfig.ready).
HANDLED_BEFORE = {
    "invoice.paid": "handle_invoice_paid",
    "invoice.payment_succeeded": "handle_invoice_paid",
    "charge.refunded": "handle_charge_refunded",
    "refund.created": "handle_refund",
    "refund.updated": "handle_refund",
    "charge.refund.updated": "handle_refund",
    "refund.synced": "handle_refund",
    "charge.dispute.created": "handle_dispute",
    "charge.dispute.updated": "handle_dispute",
    "charge.dispute.closed": "handle_dispute",
    "customer.subscription.created": "handle_subscription",
    "customer.subscription.updated": "handle_subscription",
    "customer.subscription.deleted": "handle_subscription",
    "customer.created": "handle_customer",
    "customer.updated": "handle_customer",
    "checkout.session.completed": "handle_checkout_completed",
}
CONNECT = ("account.updated", "transfer.reversed")
API = {"api.payment": "handle_api_payment", "api.refund": "handle_api_refund"}


def test_every_dotted_path_in_the_table_resolves_to_a_callable():
    for event_type, paths in settings.STRIPE_EVENT_HANDLERS.items():
        assert paths, f"{event_type} lists no handler"
        for path in paths:
            assert callable(import_string(path)), f"{event_type}: {path} is not callable"


def test_every_event_type_handled_before_is_in_the_table_with_the_same_handler():
    for event_type, name in HANDLED_BEFORE.items():
        assert ingest.handlers_for(event_type) == [getattr(stripe_handlers, name)], event_type
    for event_type in CONNECT:
        assert ingest.handlers_for(event_type) == [handle_stripe_event], event_type
    for event_type, name in API.items():
        assert [h.__name__ for h in ingest.handlers_for(event_type)] == [name], event_type


def test_the_table_is_all_there_is():
    # No handler is added at import time (payouts no longer registers its own in ready()).
    assert ingest.handled_types() == sorted([*HANDLED_BEFORE, *CONNECT, *API])
    assert ingest.handlers_for("unknown.type") == []


def test_a_changed_setting_is_read_again(settings):
    settings.STRIPE_EVENT_HANDLERS = {"x.y": ["payouts.services.handle_stripe_event"]}

    assert ingest.handled_types() == ["x.y"]
    assert ingest.handlers_for("invoice.paid") == []
