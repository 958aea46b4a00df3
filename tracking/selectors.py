"""Reads of tracking data shared by the API, the commissions app and the dashboard."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from tracking.models import Click, DailyStat, Referral


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


def click_by_id(click_id: int) -> Click | None:
    return Click.objects.filter(pk=click_id).first()


def daily_stats(*, affiliate_id: int, since: date, until: date) -> QuerySet[DailyStat]:
    """Rollup rows of one affiliate, oldest first, both days inclusive."""
    return DailyStat.objects.filter(
        affiliate_id=affiliate_id, day__gte=since, day__lte=until
    ).order_by("day")
