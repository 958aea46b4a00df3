"""Who referred the Stripe customer an event is about. Read by stage two's early skip, the
batch prefetch and the Stripe handlers, so it lives beside them rather than in any one.

A Stripe customer is ours when its Referral was given the Stripe customer id at signup, or
when a link was learnt from `metadata.ambassador_customer_id` / a Checkout session's
`client_reference_id` (StripeCustomerLink, written at store time)."""

from __future__ import annotations

from typing import Any

from commissions.ingest.payload import as_dict, data_object, stripe_id
from commissions.models import StoredEvent, StripeCustomerLink
from tracking.models import Referral
from tracking.selectors import referral_for_customer

# Built-in event types that concern one Stripe customer: when nobody referred that customer
# they are skipped before any transaction is opened (most of a Stripe account's events).
CUSTOMER_SCOPED = frozenset(
    {
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }
)


def referral_for_stripe_customer(
    stripe_customer_id: str, metadata: Any = None, cache: dict | None = None
) -> Referral | None:
    """The referral behind a Stripe customer: Referral.stripe_customer_id given at signup,
    else a link learnt from `metadata.ambassador_customer_id` / `client_reference_id`.
    None also when the referral is credited to nobody. Kept in the run's `cache`."""
    if not stripe_customer_id:
        return None
    key = ("referral", stripe_customer_id)
    if cache is not None and key in cache:
        return cache[key]
    referral = referral_for_customer(stripe_customer_id=stripe_customer_id)
    if referral is None:
        customer_id = linked_customer_id(stripe_customer_id, metadata)
        if customer_id:
            referral = referral_for_customer(customer_id=customer_id)
    if referral is not None and referral.affiliate_id is None and referral.employee_id is None:
        referral = None  # seen but credited to nobody
    if cache is not None:
        cache[key] = referral
    return referral


def linked_customer_id(stripe_customer_id: str, metadata: Any = None) -> str:
    """The product's customer id a Stripe customer is linked to by the object's
    `metadata.ambassador_customer_id` or a learnt StripeCustomerLink, or ""."""
    return stripe_id(as_dict(metadata).get("ambassador_customer_id")) or (
        StripeCustomerLink.objects.filter(stripe_customer_id=stripe_customer_id)
        .values_list("customer_id", flat=True)
        .first()
        or ""
    )


def customer_link_in(event: StoredEvent) -> str:
    """The product's customer id a `customer.*` event names in its metadata, or ""."""
    return stripe_id(as_dict(data_object(event).get("metadata")).get("ambassador_customer_id"))
