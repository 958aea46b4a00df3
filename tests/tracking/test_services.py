"""Attribution of signups: precedence, first referrer wins, self-referral, idempotency."""

from datetime import timedelta

import pytest

from affiliates.models import Affiliate
from config.errors import Conflict, ServiceError
from tests.factories import AffiliateFactory, ClickFactory, CouponFactory, UserFactory
from tracking.models import Referral
from tracking.selectors import referral_for_customer
from tracking.services import attribute_signup, self_referral_reason

pytestmark = pytest.mark.django_db


def test_a_cookie_credits_its_affiliate_and_names_the_click(alice, now):
    click = ClickFactory(affiliate=alice, landing_path="/blog/x/", at=now - timedelta(days=3))

    referral = attribute_signup(
        customer_id="c1",
        email="carol@carol.test",
        referral=alice.public_id,
        referral_click=f"{click.pk}.1793000000",
        now=now,
    )

    assert (referral.affiliate, referral.source, referral.click_id) == (alice, "cookie", click.pk)
    assert referral.cookie_set_at == click.at
    assert f"cookie from click {click.pk} on 2026-10-30 via /blog/x/alice" in referral.why
    assert referral.created


def test_a_coupon_wins_over_a_cookie_and_a_cookie_over_a_declared_name(alice, bob, now):
    carol = AffiliateFactory(username="carol")
    coupon = CouponFactory(code="CAROL10", affiliate=carol)

    both = attribute_signup(
        customer_id="c1",
        email="x@x.test",
        coupon="carol10",
        referral=alice.public_id,
        referred_by="bob",
        now=now,
    )
    cookie_and_declared = attribute_signup(
        customer_id="c2", email="y@y.test", referral=alice.public_id, referred_by="bob", now=now
    )
    declared = attribute_signup(customer_id="c3", email="z@z.test", referred_by="BOB", now=now)

    assert (both.affiliate, both.source, both.coupon) == (carol, "coupon", coupon)
    assert (cookie_and_declared.affiliate, cookie_and_declared.source) == (alice, "cookie")
    assert (declared.affiliate, declared.source) == (bob, "declared")


def test_first_referrer_wins_and_a_repeat_call_gives_the_same_answer(alice, bob, now):
    first = attribute_signup(customer_id="c1", email="x@x.test", referral=alice.public_id, now=now)

    again = attribute_signup(
        customer_id="c1", email="x@x.test", referral=bob.public_id, coupon=None, now=now
    )

    assert not again.created
    assert (again.pk, again.affiliate, again.why) == (first.pk, alice, first.why)
    assert Referral.objects.count() == 1


def test_a_self_referral_is_not_attributed_and_why_says_so(alice, now):
    referral = attribute_signup(
        customer_id="c1", email="Alice@Alice-Co.test", referral=alice.public_id, now=now
    )

    assert (referral.affiliate, referral.source) == (None, "none")
    assert "self-referral" in referral.why


def test_same_company_domain_is_self_referral_but_same_webmail_is_not(alice, bob):
    assert self_referral_reason(customer_email="boss@alice-co.test", affiliate=alice)
    assert not self_referral_reason(customer_email="someone@gmail.com", affiliate=bob)


def test_a_self_referring_coupon_falls_through_to_the_next_evidence(alice, bob, now):
    CouponFactory(code="ALICE", affiliate=alice)

    referral = attribute_signup(
        customer_id="c1", email="ceo@alice-co.test", coupon="ALICE", referral=bob.public_id, now=now
    )

    assert (referral.affiliate, referral.source) == (bob, "cookie")
    assert "self-referral" in referral.why


def test_a_suspended_affiliate_is_not_attributed(alice, now):
    Affiliate.objects.filter(pk=alice.pk).update(status=Affiliate.Status.SUSPENDED)

    referral = attribute_signup(
        customer_id="c1", email="x@x.test", referral=alice.public_id, now=now
    )

    assert referral.affiliate is None
    assert "suspended" in referral.why


def test_an_employee_can_be_added_at_upgrade_and_the_stripe_id_later(alice, now):
    emp = AffiliateFactory(username="eve", is_employee=True, user=UserFactory(email="eve@co.test"))
    first = attribute_signup(customer_id="c1", email="x@x.test", referral=alice.public_id, now=now)

    later = attribute_signup(
        customer_id="c1",
        email="x@x.test",
        employee="eve",
        stripe_customer_id="cus_9",
        now=now + timedelta(days=40),
    )

    assert later.pk == first.pk and later.affiliate == alice
    assert (later.employee, later.employee_at) == (emp, now + timedelta(days=40))
    assert referral_for_customer(stripe_customer_id="cus_9") == later
    assert referral_for_customer(customer_id="c1") == later


def test_naming_a_non_employee_is_refused_and_nothing_is_written(alice, now):
    with pytest.raises(ServiceError):
        attribute_signup(customer_id="c1", email="x@x.test", employee="alice", now=now)

    assert not Referral.objects.exists()


def test_a_stripe_customer_linked_elsewhere_is_a_conflict(alice, now):
    attribute_signup(customer_id="c1", email="x@x.test", stripe_customer_id="cus_1", now=now)

    with pytest.raises(Conflict):
        attribute_signup(customer_id="c2", email="y@y.test", stripe_customer_id="cus_1", now=now)


def test_a_new_attribution_enqueues_the_signup_commission_on_commit(
    alice, now, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    from celery import current_app

    monkeypatch.setattr(current_app, "send_task", lambda name, kwargs: sent.append((name, kwargs)))

    with django_capture_on_commit_callbacks(execute=True):
        referral = attribute_signup(
            customer_id="c1", email="x@x.test", referral=alice.public_id, now=now
        )
    with django_capture_on_commit_callbacks(execute=True):
        attribute_signup(customer_id="c1", email="x@x.test", referral=alice.public_id, now=now)
        attribute_signup(customer_id="c2", email="y@y.test", now=now)

    assert sent == [("commissions.record_signup_commission", {"referral_id": referral.pk})]


def test_a_broker_outage_does_not_fail_the_signup(
    alice, now, django_capture_on_commit_callbacks, monkeypatch
):
    from celery import current_app

    def down(*a, **kw):
        raise ConnectionError("broker down")

    monkeypatch.setattr(current_app, "send_task", down)

    with django_capture_on_commit_callbacks(execute=True):
        referral = attribute_signup(
            customer_id="c1", email="x@x.test", referral=alice.public_id, now=now
        )

    assert referral.affiliate == alice
