"""Suspended affiliates, and affiliates whose user is deactivated, earn nothing new: their
customers' payments and signups still write entries, declined with the reason."""

from datetime import timedelta

import pytest

from affiliates.services import reinstate_affiliate, suspend_affiliate
from commissions.models import CommissionEntry
from commissions.selectors import balances_for
from commissions.services import (
    PaymentInput,
    approve_due_commissions,
    record_payment,
    record_signup_commission,
)
from tests.commissions.conftest import pay
from tests.factories import AffiliateFactory, ReferralFactory

pytestmark = pytest.mark.django_db

State = CommissionEntry.State


def test_a_suspended_affiliate_gets_declined_entries_with_the_reason(now):
    # given alice's customer signed up and paid while she was approved: earned as usual
    alice = AffiliateFactory(plan=None)
    old_customer = ReferralFactory(affiliate=alice, created_at=now - timedelta(days=5))
    pay(old_customer, external_id="before", amount=10_000, paid_at=now - timedelta(days=4))
    # when she is suspended, then her earlier customer pays again and a new one signs up
    suspend_affiliate(affiliate=alice, now=now - timedelta(days=3), note="paid ads")
    pay(old_customer, external_id="during", amount=10_000, paid_at=now - timedelta(days=2))
    new_customer = ReferralFactory(affiliate=alice, created_at=now - timedelta(days=2))
    signup = record_signup_commission(referral_id=new_customer.pk, now=now - timedelta(days=2))

    # then the earlier entry (50 % × 10000 = 5000) stays pending; the recurring payment's
    # 20 % × 10000 = 2000 and the 25-cent signup bounty are written, declined, with why
    before = CommissionEntry.objects.get(payment__external_id="before")
    during = CommissionEntry.objects.get(payment__external_id="during")
    assert (before.amount, before.state) == (5000, State.PENDING)
    assert (during.amount, during.state, during.state_note) == (
        2000,
        State.DECLINED,
        "declined: affiliate suspended",
    )
    assert during.declined_at == now - timedelta(days=2)
    assert (signup.amount, signup.state, signup.state_note) == (
        25,
        State.DECLINED,
        "declined: affiliate suspended",
    )
    # and nothing declined counts towards a balance: pending 5000 only
    assert balances_for(affiliate_id=alice.pk)["USD"]["pending"] == 5000


def test_a_reinstated_affiliate_earns_again_but_what_was_declined_stays_declined(now):
    alice = AffiliateFactory(plan=None)
    customer = ReferralFactory(affiliate=alice, created_at=now - timedelta(days=10))
    suspend_affiliate(affiliate=alice, now=now - timedelta(days=9))
    during = pay(customer, external_id="during", amount=10_000, paid_at=now - timedelta(days=8))

    # when she is reinstated, the suspended-time payment is reprocessed (a rule fix, say)
    # and the customer pays again
    reinstate_affiliate(affiliate=alice, now=now - timedelta(days=7))
    record_payment(
        referral=customer,
        data=PaymentInput(
            provider="api",
            external_id="during",
            amount=10_000,
            currency="USD",
            paid_at=now - timedelta(days=8),
        ),
        now=now,
        recompute=True,
    )
    pay(customer, external_id="after", amount=10_000, paid_at=now - timedelta(days=6))
    # and the approval job runs past every hold (30 days after the last payment)
    approve_due_commissions(now=now + timedelta(days=30), notify=False)

    # then the payment made while suspended keeps its one declined entry (first payment:
    # 50 % × 10000 = 5000, not paid); the later one earns 20 % × 10000 = 2000, approved
    entries = CommissionEntry.objects.filter(payment=during)
    assert [(e.amount, e.state) for e in entries] == [(5000, State.DECLINED)]
    after = CommissionEntry.objects.get(payment__external_id="after")
    assert (after.amount, after.state) == (2000, State.APPROVED)


def test_a_deactivated_users_affiliate_gets_declined_entries_with_the_reason(now):
    # given an approved affiliate whose user account an admin deactivated
    bob = AffiliateFactory(plan=None)
    bob.user.is_active = False
    bob.user.save(update_fields=["is_active"])
    customer = ReferralFactory(affiliate=bob, created_at=now - timedelta(days=1))

    # when its customer signs up and pays $100.00
    signup = record_signup_commission(referral_id=customer.pk, now=now)
    pay(customer, external_id="p1", amount=10_000, paid_at=now)

    # then both entries are written (25 cents; 50 % × 10000 = 5000) and declined
    entry = CommissionEntry.objects.get(payment__external_id="p1")
    reason = "declined: affiliate's user account is deactivated"
    assert (entry.amount, entry.state, entry.state_note) == (5000, State.DECLINED, reason)
    assert (signup.amount, signup.state, signup.state_note) == (25, State.DECLINED, reason)
    assert balances_for(affiliate_id=bob.pk) == {} or all(
        v == 0 for per in balances_for(affiliate_id=bob.pk).values() for v in per.values()
    )


def test_the_employee_named_at_upgrade_is_judged_on_its_own_status(now):
    # given a customer of approved alice whose upgrade was helped by employee erin, who is
    # then suspended
    alice = AffiliateFactory(plan=None)
    erin = AffiliateFactory(plan=None, is_employee=True)
    customer = ReferralFactory(
        affiliate=alice, employee=erin, employee_at=now - timedelta(days=3), created_at=now
    )
    suspend_affiliate(affiliate=erin, now=now - timedelta(days=2))

    pay(customer, external_id="p1", amount=10_000, paid_at=now - timedelta(days=1))

    # then alice earns 50 % × 10000 = 5000 (pending); erin's 5000 is declined
    states = dict(
        CommissionEntry.objects.filter(payment__external_id="p1").values_list(
            "affiliate_id", "state"
        )
    )
    assert states == {alice.pk: State.PENDING, erin.pk: State.DECLINED}
