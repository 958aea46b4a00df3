"""Reads of tracking data shared by the services, the API and the commissions app."""

from __future__ import annotations

from tracking.models import Click, Referral


def referral_for_customer(
    *, customer_id: str | None = None, stripe_customer_id: str | None = None
) -> Referral | None:
    """The referral of a customer, by the product's customer id or its Stripe customer id
    (the commissions app knows one or the other). None when the customer was never reported."""
    qs = Referral.objects.select_related("affiliate", "employee", "coupon")
    if customer_id:
        found = qs.filter(customer_id=customer_id).first()
        if found is not None:
            return found
    if stripe_customer_id:
        return qs.filter(stripe_customer_id=stripe_customer_id).first()
    return None


def stripe_customer_is_linked(stripe_customer_id: str) -> bool:
    """Whether some customer already carries this Stripe customer id (one each)."""
    return Referral.objects.filter(stripe_customer_id=stripe_customer_id).exists()


def click_of_affiliate(*, click_id: int, affiliate_id: int) -> Click | None:
    """The stored click a `referral_click` cookie names, if it is this affiliate's. None
    also while the click still sits in the Redis buffer (flushed every 2 s)."""
    return Click.objects.filter(pk=click_id, affiliate_id=affiliate_id).first()
