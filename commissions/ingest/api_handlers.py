"""Stage-two handlers for payments and refunds reported through the API (`api.payment`,
`api.refund`): same store, same stage two as Stripe's events, so an API payment is
idempotent, retried and reprocessed exactly like a Stripe invoice. The payload's `data` was
validated by the API's serializers before it was stored (commissions.api)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from commissions import services
from commissions.ingest.errors import Skip
from commissions.models import StoredEvent
from tracking.selectors import referral_for_customer


def handle_api_payment(event: StoredEvent) -> None:
    data = event.payload["data"]
    referral = referral_for_customer(customer_id=str(data["customer_id"]))
    if referral is None or (referral.affiliate_id is None and referral.employee_id is None):
        raise Skip("customer not referred")
    rate = data.get("exchange_rate")
    services.record_payment(
        referral=referral,
        data=services.PaymentInput(
            provider=StoredEvent.Provider.API,
            external_id=str(data["payment_id"]),
            amount=int(data["amount"]),
            currency=str(data["currency"]),
            paid_at=datetime.fromisoformat(data["paid_at"]),
            product_plan=str(data.get("plan") or ""),
            provider_fx_rate=Decimal(rate) if rate else None,
        ),
        now=event.processed_now,  # type: ignore[attr-defined]
        cache=getattr(event, "_cache", None),
        recompute=getattr(event, "reprocess", False),
    )


def handle_api_refund(event: StoredEvent) -> None:
    data = event.payload["data"]
    services.record_refund(
        provider=StoredEvent.Provider.API,
        external_id=str(data["refund_id"]),
        payment_ref=str(data["payment_id"]),
        amount=int(data["amount"]),
        currency=str(data.get("currency") or ""),
        refunded_at=datetime.fromisoformat(data["refunded_at"]),
        now=event.processed_now,  # type: ignore[attr-defined]
    )
