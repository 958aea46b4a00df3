"""Refunds and disputes: declines before approval, clawbacks after, partial refunds keep
the kept share, disputes freeze / release / reverse."""

from datetime import UTC, datetime, timedelta

import pytest

from commissions.models import CommissionEntry
from commissions.selectors import balances_for, ledger_violations
from commissions.services import approve_due_commissions, record_dispute, record_refund
from tests.commissions.conftest import pay

pytestmark = pytest.mark.django_db
Kind = CommissionEntry.Kind
NOV = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def refund(external_id, payment_ref, amount, at):
    return record_refund(
        provider="api",
        external_id=external_id,
        payment_ref=payment_ref,
        amount=amount,
        currency="USD",
        refunded_at=at,
        now=at,
    )


def states(**filters):
    return [
        (e.kind, e.amount, e.state)
        for e in CommissionEntry.objects.filter(**filters).order_by("pk")
    ]


def test_full_refund_before_approval_declines_the_entry(referral):
    # given a $40.00 first payment → 2000 pending
    pay(referral, external_id="p1", amount=4000, paid_at=NOV)

    # when it is refunded in full 5 days later, and the job runs after the hold
    refund("r1", "p1", 4000, NOV + timedelta(days=5))
    approve_due_commissions(now=NOV + timedelta(days=31))

    # then the entry is declined and nothing is owed
    assert states() == [(Kind.FIRST_PAYMENT, 2000, "declined")]
    assert balances_for(affiliate_id=referral.affiliate_id) == {}  # declined counts nowhere


def test_partial_refund_before_approval_keeps_the_kept_share_pending(referral):
    # given a $40.00 first payment → 2000 pending
    pay(referral, external_id="p1", amount=4000, paid_at=NOV)

    # when $10.00 is refunded
    refund("r1", "p1", 1000, NOV + timedelta(days=5))

    # then the 2000 entry is declined and a new pending entry for the kept $30.00 is
    # written: 3000 × 50 % = 1500, with the original hold end
    assert states() == [
        (Kind.FIRST_PAYMENT, 2000, "declined"),
        (Kind.FIRST_PAYMENT, 1500, "pending"),
    ]
    kept = CommissionEntry.objects.get(state="pending")
    assert (kept.source_type, kept.approve_after) == ("refund", NOV + timedelta(days=30))


def test_refund_after_approval_adds_an_approved_negative_clawback(referral):
    # given a $40.00 first payment whose 2000 was approved after 30 days
    pay(referral, external_id="p1", amount=4000, paid_at=NOV)
    approve_due_commissions(now=NOV + timedelta(days=31))

    # when $10.00 then the remaining $30.00 are refunded
    refund("r1", "p1", 1000, NOV + timedelta(days=40))
    refund("r2", "p1", 3000, NOV + timedelta(days=41))

    # then clawbacks 1500 − 2000 = −500 and 0 − 1500 = −1500, approved at once;
    # the approved balance nets to 2000 − 500 − 1500 = 0
    assert states() == [
        (Kind.FIRST_PAYMENT, 2000, "approved"),
        (Kind.CLAWBACK, -500, "approved"),
        (Kind.CLAWBACK, -1500, "approved"),
    ]
    assert balances_for(affiliate_id=referral.affiliate_id)["USD"]["approved"] == 0
    assert ledger_violations(now=NOV + timedelta(days=42)) == []


def test_refund_processed_before_its_payment_arrives_ends_declined(referral):
    # given a refund for a payment not yet reported
    r = refund("r1", "p1", 4000, NOV)
    assert r.payment_id is None and r.applied_at is None

    # when the payment arrives
    pay(referral, external_id="p1", amount=4000, paid_at=NOV - timedelta(days=1), now=NOV)

    # then its entry is declined at once
    assert states() == [(Kind.FIRST_PAYMENT, 2000, "declined")]


def test_refund_of_the_same_id_twice_is_booked_once(referral):
    pay(referral, external_id="p1", amount=4000, paid_at=NOV)
    refund("r1", "p1", 1000, NOV + timedelta(days=1))
    refund("r1", "p1", 1000, NOV + timedelta(days=1))
    # 3000 × 50 % = 1500 kept once
    assert states(state="pending") == [(Kind.FIRST_PAYMENT, 1500, "pending")]


def dispute(status, at):
    return record_dispute(
        provider="api",
        external_id="dp1",
        payment_ref="p1",
        amount=4000,
        currency="USD",
        status=status,
        at=at,
        now=at,
    )


def test_open_dispute_freezes_pending_entries_and_a_won_one_releases_them(referral):
    # given a $40.00 payment (2000 pending) disputed on day 10
    pay(referral, external_id="p1", amount=4000, paid_at=NOV)
    dispute("open", NOV + timedelta(days=10))

    # when the job runs after the hold, then the dispute is won, then the job runs again
    approve_due_commissions(now=NOV + timedelta(days=31))
    frozen = states()
    dispute("won", NOV + timedelta(days=40))
    approve_due_commissions(now=NOV + timedelta(days=41))

    # then the entry stayed pending while open and was approved after the win
    assert frozen == [(Kind.FIRST_PAYMENT, 2000, "pending")]
    assert states() == [(Kind.FIRST_PAYMENT, 2000, "approved")]


def test_lost_dispute_acts_like_a_full_refund(referral):
    # given a $40.00 payment (2000 pending), disputed and lost before approval
    pay(referral, external_id="p1", amount=4000, paid_at=NOV)
    dispute("open", NOV + timedelta(days=10))
    dispute("lost", NOV + timedelta(days=20))

    # when the job runs after the hold
    approve_due_commissions(now=NOV + timedelta(days=31))

    # then the entry is declined
    assert states() == [(Kind.FIRST_PAYMENT, 2000, "declined")]


def test_lost_dispute_after_approval_claws_back(referral):
    # given an approved 2000 entry
    pay(referral, external_id="p1", amount=4000, paid_at=NOV)
    approve_due_commissions(now=NOV + timedelta(days=31))

    # when a dispute is opened and lost
    dispute("open", NOV + timedelta(days=35))
    dispute("lost", NOV + timedelta(days=50))

    # then a −2000 clawback nets the balance to 0
    assert states() == [(Kind.FIRST_PAYMENT, 2000, "approved"), (Kind.CLAWBACK, -2000, "approved")]
    assert ledger_violations(now=NOV + timedelta(days=51)) == []


def test_clawback_after_payout_can_leave_a_negative_balance(referral):
    # given an approved 2000 entry moved into a payout and paid
    from commissions.services import move_entries

    pay(referral, external_id="p1", amount=4000, paid_at=NOV)
    approve_due_commissions(now=NOV + timedelta(days=31))
    entry = CommissionEntry.objects.get()
    move_entries(
        entry_ids=[entry.pk],
        from_state="approved",
        to_state="in_payout",
        now=NOV + timedelta(days=32),
    )
    move_entries(
        entry_ids=[entry.pk], from_state="in_payout", to_state="paid", now=NOV + timedelta(days=33)
    )

    # when the payment is refunded in full
    refund("r1", "p1", 4000, NOV + timedelta(days=40))

    # then the approved balance is −2000, carried into the next payout
    assert balances_for(affiliate_id=referral.affiliate_id)["USD"] == {
        "pending": 0,
        "approved": -2000,
        "in_payout": 0,
        "paid": 2000,
    }
