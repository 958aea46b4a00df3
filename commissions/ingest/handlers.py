"""Which stage-two handlers run for which event type.

Other apps add handlers with `register_handler(event_type, handler)` from their
AppConfig.ready (payouts handles Connect's `account.updated` and `transfer.reversed`)."""

from __future__ import annotations

from collections.abc import Callable

from commissions.ingest import api_handlers, stripe_handlers
from commissions.models import StoredEvent

Handler = Callable[[StoredEvent], None]
_handlers: dict[str, list[Handler]] = {}


def register_handler(event_type: str, handler: Handler) -> None:
    """Add a stage-two handler for `event_type` (several per type run in order)."""
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def handlers_for(event_type: str) -> list[Handler]:
    return list(_handlers.get(event_type, []))


for _type in ("invoice.paid", "invoice.payment_succeeded"):
    register_handler(_type, stripe_handlers.handle_invoice_paid)
register_handler("charge.refunded", stripe_handlers.handle_charge_refunded)
for _type in ("refund.created", "refund.updated", "charge.refund.updated", "refund.synced"):
    register_handler(_type, stripe_handlers.handle_refund)
for _type in ("charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed"):
    register_handler(_type, stripe_handlers.handle_dispute)
for _type in (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
):
    register_handler(_type, stripe_handlers.handle_subscription)
for _type in ("customer.created", "customer.updated"):
    register_handler(_type, stripe_handlers.handle_customer)
register_handler("checkout.session.completed", stripe_handlers.handle_checkout_completed)
register_handler("api.payment", api_handlers.handle_api_payment)
register_handler("api.refund", api_handlers.handle_api_refund)
