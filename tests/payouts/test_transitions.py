"""The one state-change helper per model: moves follow the model's TRANSITIONS table,
compare-and-set, with side effects only for the rows that moved."""

import pytest

from commissions.models import CommissionEntry
from payouts.models import Payout, PayoutRun, PayPalBatch
from payouts.services import run_payouts, transitions
from payouts.services.history import Cause
from tests.factories import AffiliateFactory, CommissionEntryFactory, PayoutAccountFactory

pytestmark = pytest.mark.django_db
S = Payout.State
BY_TEST = Cause("test")


def manual_payout(now):
    affiliate = AffiliateFactory()
    PayoutAccountFactory(affiliate=affiliate, method="manual", bank_details="IBAN DE00")
    entry = CommissionEntryFactory(
        affiliate=affiliate, amount=6000, state=CommissionEntry.State.APPROVED
    )
    run_payouts(now=now)
    return Payout.objects.get(affiliate=affiliate), entry


def test_the_tables_name_the_states_a_move_may_come_from():
    assert transitions.sources(Payout, S.PAID) == {S.PENDING, S.SENDING, S.UNKNOWN}
    assert transitions.sources(PayPalBatch, PayPalBatch.State.SENT) == {PayPalBatch.State.SENDING}
    assert transitions.sources(PayoutRun, PayoutRun.State.COMPLETED) == {PayoutRun.State.APPROVED}
    assert transitions.FINAL_STATES == {S.PAID, S.FAILED}


def test_a_move_to_a_state_nothing_leads_to_is_refused(now):
    with pytest.raises(ValueError):
        transitions.move_payouts(ids=[1], to=S.AWAITING_APPROVAL, now=now, cause=BY_TEST)


def test_a_second_move_of_the_same_payout_changes_nothing_and_repeats_no_side_effect(now, enqueued):
    payout, entry = manual_payout(now)

    first = transitions.move_payouts(ids=[payout.pk], to=S.FAILED, now=now, cause=BY_TEST)
    again = transitions.move_payouts(ids=[payout.pk], to=S.PAID, now=now, cause=BY_TEST)

    assert (first, again) == ([payout.pk], [])
    assert Payout.objects.get(pk=payout.pk).state == S.FAILED
    assert CommissionEntry.objects.get(pk=entry.pk).state == CommissionEntry.State.APPROVED
    assert enqueued.count(("payouts.notify_payout", {"payout_id": payout.pk})) == 1


def test_only_from_narrows_the_table(now):
    payout, _ = manual_payout(now)  # pending

    moved = transitions.move_payouts(
        ids=[payout.pk], to=S.FAILED, now=now, cause=BY_TEST, only_from=[S.UNKNOWN]
    )

    assert moved == [] and Payout.objects.get(pk=payout.pk).state == S.PENDING


def test_the_run_completes_with_its_last_final_payout(now):
    payout, _ = manual_payout(now)

    transitions.move_payouts(ids=[payout.pk], to=S.PAID, now=now, cause=BY_TEST)

    run = PayoutRun.objects.get()
    assert (run.state, run.completed_at) == (PayoutRun.State.COMPLETED, now)
