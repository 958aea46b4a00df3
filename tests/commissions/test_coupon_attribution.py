"""A Stripe invoice whose discount is an affiliate's coupon attributes a customer nobody
has, with no cookie (source "coupon"), through the real path: a signed webhook stored by
POST /webhooks/stripe/, then stage two. The payloads are Stripe's shapes: the legacy
`discount` object (coupon expanded, promotion code an id) and the current `discounts`
list with `source.coupon` and an expanded promotion code."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from commissions.ingest import process_pending_events
from commissions.ingest.payload import discount_refs
from commissions.models import CommissionEntry, StoredEvent
from tests.commissions.conftest import invoice, sign, stripe_event
from tests.factories import (
    AffiliateFactory,
    CouponFactory,
    PlanFactory,
    ReferralFactory,
    UserFactory,
)
from tracking.models import Referral

pytestmark = pytest.mark.django_db

PAID = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
T = int(PAID.timestamp())


@pytest.fixture
def alice(db):
    plan = PlanFactory(name="Flat 30%", first_payment_bp=3000, recurring_bp=3000, use_tiers=False)
    return AffiliateFactory(username="alice", plan=plan, user=UserFactory(email="a@alice.test"))


@pytest.fixture
def coupon(alice):
    return CouponFactory(
        code="ALICE10",
        affiliate=alice,
        stripe_coupon_id="Z4OV52SU",
        stripe_promotion_code_id="promo_1MiM6KLkdIwHu7ixrIaX4wgn",
    )


def legacy_discount(coupon_id: str = "Z4OV52SU", promo: object = None) -> dict:
    # API versions before 2025: `invoice.discount`, the coupon expanded.
    return {
        "id": "di_1MtJUuLkdIwHu7ixTJvD4Zc3",
        "object": "discount",
        "coupon": {"id": coupon_id, "object": "coupon", "percent_off": 10.0, "valid": True},
        "customer": "cus_new",
        "promotion_code": promo,
        "start": T - 60,
        "end": None,
        "subscription": "sub_1",
    }


def current_discount(coupon_id: str = "Z4OV52SU", promo: object = None) -> dict:
    # Current API: the coupon under `source`, a promotion code expanded or an id.
    return {
        "id": "di_1Q7ZfTLkdIwHu7ixWvVQqNVZ",
        "object": "discount",
        "source": {"type": "coupon", "coupon": coupon_id},
        "customer": "cus_new",
        "promotion_code": promo,
        "start": T - 60,
        "end": None,
    }


def paid_invoice(**extra) -> dict:
    # $40.00 paid, no tax.
    obj = invoice("in_cpn1", customer="cus_new", amount_paid=4000, paid_at=T)
    obj["customer_email"] = "buyer@shop.test"
    obj.update(extra)
    return obj


def deliver(client, webhook_settings, obj: dict, event_id: str = "evt_cpn1") -> None:
    body = json.dumps(stripe_event(event_id, "invoice.payment_succeeded", obj, T)).encode()
    response = client.post(
        "/webhooks/stripe/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body),
    )
    assert response.status_code == 200, response.content
    process_pending_events(now=timezone.now())


def test_a_stripe_invoice_with_an_affiliates_promotion_code_attributes_with_no_cookie(
    client, webhook_settings, coupon, alice
):
    obj = paid_invoice(
        discount=None,
        discounts=[
            current_discount(
                coupon_id="other_coupon",
                promo={"id": "promo_unknown", "object": "promotion_code", "code": "alice10"},
            )
        ],
    )

    deliver(client, webhook_settings, obj)

    referral = Referral.objects.get(stripe_customer_id="cus_new")
    assert (referral.affiliate, referral.source, referral.coupon) == (alice, "coupon", coupon)
    assert referral.click_id is None and referral.cookie_set_at is None
    assert referral.customer_id == "cus_new"  # no product customer id known: the Stripe one
    assert referral.email == "buyer@shop.test"
    assert "Stripe invoice in_cpn1 with coupon ALICE10" in referral.why
    # 30 % of $40.00 = $12.00 on the first payment, to alice.
    entry = CommissionEntry.objects.get(source_type="payment")
    assert (entry.affiliate, entry.amount) == (alice, 1200)
    assert StoredEvent.objects.get(event_id="evt_cpn1").outcome == "processed"


def test_the_legacy_discount_with_the_promotion_code_id_attributes_the_linked_customer(
    client, webhook_settings, coupon, alice
):
    # The product reported the customer (nobody credited) with its Stripe id.
    seen = ReferralFactory(
        customer_id="prod-7", affiliate=None, source="none", stripe_customer_id="cus_new"
    )
    obj = paid_invoice(
        discount=legacy_discount(coupon_id="unrelated", promo="promo_1MiM6KLkdIwHu7ixrIaX4wgn")
    )

    deliver(client, webhook_settings, obj)

    seen.refresh_from_db()
    assert (seen.affiliate, seen.source) == (alice, "coupon")
    assert Referral.objects.count() == 1
    assert CommissionEntry.objects.get(source_type="payment").amount == 1200  # 30 % of $40


def test_a_stripe_coupon_id_attributes_and_a_replay_changes_nothing(
    client, webhook_settings, coupon, alice
):
    obj = paid_invoice(discounts=["di_unexpanded"], discount=legacy_discount())

    deliver(client, webhook_settings, obj)
    deliver(client, webhook_settings, obj, event_id="evt_cpn1_twin")

    assert Referral.objects.get().affiliate == alice
    assert CommissionEntry.objects.filter(source_type="payment").count() == 1


def test_an_invoice_coupon_never_moves_a_customer_another_affiliate_has(
    client, webhook_settings, coupon, alice
):
    bob = AffiliateFactory(username="bob")
    ReferralFactory(customer_id="prod-8", affiliate=bob, stripe_customer_id="cus_new")

    deliver(client, webhook_settings, paid_invoice(discount=legacy_discount()))

    assert Referral.objects.get().affiliate == bob  # first referrer wins
    assert set(CommissionEntry.objects.values_list("affiliate__username", flat=True)) == {"bob"}


@pytest.mark.parametrize(
    "case",
    ["no discount", "unknown coupon", "inactive coupon", "self-referral", "not approved"],
)
def test_invoices_that_name_no_creditable_coupon_attribute_nobody(
    client, webhook_settings, coupon, alice, case
):
    obj = paid_invoice(discount=legacy_discount())
    if case == "no discount":
        obj["discount"] = None
    elif case == "unknown coupon":
        obj["discount"] = legacy_discount(coupon_id="SOMETHING_ELSE")
    elif case == "inactive coupon":
        coupon.is_active = False
        coupon.save()
    elif case == "self-referral":
        obj["customer_email"] = "A@alice.test"
    else:
        alice.status = "suspended"
        alice.save()

    deliver(client, webhook_settings, obj)

    assert not Referral.objects.filter(affiliate__isnull=False).exists()
    assert not CommissionEntry.objects.exists()
    assert StoredEvent.objects.get(event_id="evt_cpn1").outcome == "skipped"


def test_discount_refs_reads_every_shape_and_ignores_junk():
    obj = {
        "discount": legacy_discount(promo={"id": "promo_a", "code": "ALICE10"}),
        "discounts": ["di_x", current_discount(coupon_id="C2", promo="promo_b"), 7, None],
        "total_discount_amounts": [{"amount": 400, "discount": {"coupon": {"id": "C3"}}}, "x"],
        "lines": {"data": [{"discounts": [{"source": {"coupon": {"id": "C4"}}}]}, None]},
    }

    assert discount_refs(obj) == (
        ["Z4OV52SU", "C2", "C3", "C4"],
        ["promo_a", "promo_b"],
        ["ALICE10"],
    )
    for junk in ({}, {"discount": "di_1"}, {"discounts": {"a": 1}}, {"lines": [1]}):
        assert discount_refs(junk) == ([], [], [])
