"""Stage-two handlers for Stripe's customer-payment events: invoices become payments,
refunds and disputes reverse them, subscriptions record plan changes, customers and
Checkout sessions link a Stripe customer to the product's customer id.

Each handler receives only the stored event — never the provider — and writes through
commissions.services. The run's clock, per-run cache and reprocess flag ride on the event
(`processed_now`, `_cache`, `reprocess`, set by the pipeline). Raising Skip records the
event as skipped; anything else rolls its savepoint back and records an error. Which
handler runs for which type is the STRIPE_EVENT_HANDLERS table in settings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Sum

from affiliates import selectors as affiliates_selectors
from commissions import services
from commissions.ingest.customers import (
    customer_link_in,
    linked_customer_id,
    referral_for_stripe_customer,
)
from commissions.ingest.errors import Skip
from commissions.ingest.payload import data_object, discount_refs, stripe_id, to_datetime
from commissions.models import Dispute, Refund, StoredEvent
from tracking.models import Referral
from tracking.services.late_claims import attribute_by_stripe_coupon


def handle_invoice_paid(event: StoredEvent) -> None:
    """`invoice.paid` and `invoice.payment_succeeded` (real Stripe sends both for one
    invoice; localstripe only the latter): one Payment per invoice id."""
    invoice = data_object(event)
    cache = getattr(event, "_cache", None)
    referral = referral_for_stripe_customer(
        stripe_id(invoice.get("customer")), invoice.get("metadata"), cache
    )
    if referral is None or referral.affiliate_id is None:
        # Nobody has the customer: an affiliate's coupon on the invoice attributes it, with
        # no cookie (Freemius). A customer someone has keeps it (first referrer wins).
        referral = _attribute_by_coupon(invoice, event, cache) or referral
    if referral is None:
        raise Skip("customer not referred")
    paid = int(invoice.get("amount_paid") or 0)
    tax = int(invoice.get("tax") or 0) or sum(
        int(t.get("amount") or 0) for t in invoice.get("total_tax_amounts") or []
    )
    net = max(0, paid - tax)
    if net == 0:
        raise Skip("nothing paid")
    lines = ((invoice.get("lines") or {}).get("data")) or [{}]
    line = lines[0]
    plan = line.get("plan") or (line.get("price") or {})
    product_plan = str(plan.get("nickname") or plan.get("lookup_key") or plan.get("id") or "")
    subscription = stripe_id(invoice.get("subscription")) or stripe_id(
        ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    )
    charge = invoice.get("charge")
    fx = None
    if isinstance(charge, dict) and isinstance(charge.get("balance_transaction"), dict):
        rate = charge["balance_transaction"].get("exchange_rate")
        # Stripe sends it as a JSON number (a float: 0.9174311926605505); stored rates keep
        # 10 places, so the program amount is computed with the rate as it is stored.
        fx = Decimal(str(rate)).quantize(Decimal(1).scaleb(-10)) if rate else None
    paid_at = to_datetime((invoice.get("status_transitions") or {}).get("paid_at"), event.created)
    services.record_payment(
        referral=referral,
        data=services.PaymentInput(
            provider=StoredEvent.Provider.STRIPE,
            external_id=str(invoice["id"]),
            amount=net,
            tax=tax,
            currency=str(invoice.get("currency") or "usd").upper(),
            paid_at=paid_at,
            product_plan=product_plan,
            subscription_id=subscription,
            charge_id=stripe_id(charge),
            payment_intent_id=stripe_id(invoice.get("payment_intent")),
            provider_fx_rate=fx,
        ),
        now=event.processed_now,  # type: ignore[attr-defined]
        reported_at=event.created,
        cache=cache,
        recompute=getattr(event, "reprocess", False),
    )
    if cache is not None:
        cache[("invoice", invoice["id"])] = True


def _attribute_by_coupon(
    invoice: dict[str, Any], event: StoredEvent, cache: dict | None
) -> Referral | None:
    """The referral credited by the affiliate coupon the invoice's discount names, or None
    (no discount, no affiliate's coupon, or one that may not be credited)."""
    coupon_ids, promotion_code_ids, codes = discount_refs(invoice)
    customer = stripe_id(invoice.get("customer"))
    if not customer:
        return None
    coupon = affiliates_selectors.get_coupon_for_stripe_discount(
        coupon_ids=coupon_ids, promotion_code_ids=promotion_code_ids, codes=codes
    )
    if coupon is None:
        return None
    email = invoice.get("customer_email")
    referral = attribute_by_stripe_coupon(
        coupon=coupon,
        stripe_customer_id=customer,
        customer_id=linked_customer_id(customer, invoice.get("metadata")),
        email=email if isinstance(email, str) and "\x00" not in email else "",
        evidence=f"Stripe invoice {stripe_id(invoice.get('id'))} with coupon {coupon.code}",
        now=event.processed_now,  # type: ignore[attr-defined]
    )
    if referral is not None and cache is not None:
        cache[("referral", customer)] = referral
    return referral


def handle_charge_refunded(event: StoredEvent) -> None:
    charge = data_object(event)
    refunds = ((charge.get("refunds") or {}).get("data")) or []
    if not refunds and charge.get("amount_refunded"):
        # No refund list in the payload: one synthetic refund per cumulative amount seen.
        refunds = [
            {
                "id": f"{charge['id']}:refunded:{charge['amount_refunded']}",
                "amount": int(charge["amount_refunded"]),
                "status": "succeeded",
                "created": event.payload.get("created"),
                "cumulative": True,
            }
        ]
    for refund in refunds:
        _record_stripe_refund(refund, charge_id=str(charge["id"]), event=event, charge=charge)


def handle_refund(event: StoredEvent) -> None:
    """`refund.created` / `refund.updated` / `charge.refund.updated`, and refunds the sync
    stored from the refunds list (localstripe sends no refund events at all)."""
    refund = data_object(event)
    _record_stripe_refund(refund, charge_id=stripe_id(refund.get("charge")), event=event)


def _record_stripe_refund(
    refund: dict[str, Any],
    *,
    charge_id: str,
    event: StoredEvent,
    charge: dict[str, Any] | None = None,
) -> None:
    if refund.get("status") not in ("succeeded", "pending", None):
        return  # failed or canceled refunds move no money
    payment_ref = charge_id or stripe_id(refund.get("payment_intent"))
    if not payment_ref:
        return
    amount = int(refund.get("amount") or 0)
    if refund.get("cumulative"):
        # Only the part above what is already booked for this charge.
        booked = (
            Refund.objects.filter(provider="stripe", payment_ref=payment_ref).aggregate(
                s=Sum("amount")
            )["s"]
            or 0
        )
        amount -= booked
    if amount <= 0:
        return
    services.record_refund(
        provider=StoredEvent.Provider.STRIPE,
        external_id=str(refund["id"]),
        payment_ref=payment_ref,
        amount=amount,
        currency=str(refund.get("currency") or (charge or {}).get("currency") or "usd"),
        refunded_at=to_datetime(refund.get("created"), event.created),
        now=event.processed_now,  # type: ignore[attr-defined]
        reported_at=event.created,
    )


def handle_dispute(event: StoredEvent) -> None:
    dispute = data_object(event)
    status = str(dispute.get("status") or "")
    if status in ("won", "lost"):
        ours = status
    elif event.type == "charge.dispute.closed":
        ours = Dispute.Status.WON  # warning_closed and the like: the money stays with us
    else:
        ours = Dispute.Status.OPEN
    services.record_dispute(
        provider=StoredEvent.Provider.STRIPE,
        external_id=str(dispute["id"]),
        payment_ref=stripe_id(dispute.get("charge")) or stripe_id(dispute.get("payment_intent")),
        amount=int(dispute.get("amount") or 0),
        currency=str(dispute.get("currency") or "usd"),
        status=ours,
        at=event.created,
        now=event.processed_now,  # type: ignore[attr-defined]
    )


def handle_subscription(event: StoredEvent) -> None:
    sub = data_object(event)
    referral = referral_for_stripe_customer(
        stripe_id(sub.get("customer")), sub.get("metadata"), getattr(event, "_cache", None)
    )
    if referral is None:
        raise Skip("customer not referred")
    items = ((sub.get("items") or {}).get("data")) or [{}]
    plan = sub.get("plan") or items[0].get("plan") or items[0].get("price") or {}
    status = "canceled" if event.type.endswith(".deleted") else str(sub.get("status") or "")
    services.record_plan_change(
        event_id=event.event_id,
        referral=referral,
        subscription_id=str(sub.get("id") or ""),
        product_plan=str(plan.get("nickname") or plan.get("lookup_key") or plan.get("id") or ""),
        status=status,
        changed_at=event.created,
    )


def handle_customer(event: StoredEvent) -> None:
    customer = data_object(event)
    ours = customer_link_in(event)
    if not ours:
        raise Skip("no ambassador_customer_id")
    services.link_stripe_customer(
        stripe_customer_id=str(customer["id"]), customer_id=str(ours), how="customer metadata"
    )


def handle_checkout_completed(event: StoredEvent) -> None:
    session = data_object(event)
    if not session.get("client_reference_id") or not session.get("customer"):
        raise Skip("no client_reference_id")
    services.link_stripe_customer(
        stripe_customer_id=stripe_id(session["customer"]),
        customer_id=str(session["client_reference_id"]),
        how="checkout client_reference_id",
    )
