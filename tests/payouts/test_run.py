"""The payout run: thresholds, carried balances, schedules, holds, approval, exactly once."""

from datetime import UTC, datetime, timedelta

import pytest

from affiliates.models import Affiliate
from commissions.models import CommissionEntry
from payouts import selectors, services
from payouts.models import Payout, PayoutAccount, PayoutRun, PayoutSkip, PayPalBatch
from payouts.services import runs
from tests.factories import AffiliateFactory, CommissionEntryFactory, PayoutAccountFactory

pytestmark = pytest.mark.django_db
APPROVED = CommissionEntry.State.APPROVED
IN_PAYOUT = CommissionEntry.State.IN_PAYOUT


def approved(affiliate, *amounts, currency="USD"):
    return [
        CommissionEntryFactory(affiliate=affiliate, amount=a, currency=currency, state=APPROVED)
        for a in amounts
    ]


def payable(**kwargs):
    account = PayoutAccountFactory(affiliate=AffiliateFactory(**kwargs))
    return account.affiliate


def states(entries):
    return [CommissionEntry.objects.get(pk=e.pk).state for e in entries]


def test_balance_of_49_99_is_carried_and_50_00_is_paid(now):
    below, at = payable(), payable()
    below_entries = approved(below, 2500, 2499)  # 25.00 + 24.99 = 49.99 < 50.00
    at_entries = approved(at, 2500, 2500)  # 25.00 + 25.00 = 50.00, at the threshold

    result = services.run_payouts(now=now)

    assert result.payouts == 1
    payout = Payout.objects.get()
    assert (payout.affiliate, payout.amount, payout.currency) == (at, 5000, "USD")
    assert states(at_entries) == [IN_PAYOUT, IN_PAYOUT]
    assert states(below_entries) == [APPROVED, APPROVED]
    assert result.carried == 1


def test_an_affiliate_with_a_20_dollar_threshold_is_paid_at_20(now):
    low = payable(payout_threshold=2000)
    approved(low, 2000)  # 20.00 ≥ 20.00

    services.run_payouts(now=now)

    assert Payout.objects.get().amount == 2000


def test_negative_balance_is_carried_and_netted_later(now):
    affiliate = payable()
    first = approved(affiliate, 3000, -4000)  # 30.00 − 40.00 = −10.00: carried

    services.run_payouts(now=now)

    assert not Payout.objects.exists()
    assert states(first) == [APPROVED, APPROVED]

    more = approved(affiliate, 7000)  # −10.00 + 70.00 = 60.00 ≥ 50.00
    services.run_payouts(now=now + timedelta(days=30))

    payout = Payout.objects.get()
    assert payout.amount == 6000
    assert states(first + more) == [IN_PAYOUT] * 3


def test_the_15th_pays_only_two_weekly_affiliates_and_the_1st_pays_everyone(now):
    monthly = payable()
    two_weekly = payable(payout_frequency=Affiliate.Frequency.TWO_WEEKLY)
    approved(monthly, 6000)
    approved(two_weekly, 6000)

    services.run_payouts(now=datetime(2026, 11, 15, 13, 7, tzinfo=UTC), two_weekly_only=True)

    assert list(Payout.objects.values_list("affiliate", flat=True)) == [two_weekly.pk]

    approved(two_weekly, 5500)
    services.run_payouts(now=datetime(2026, 12, 1, 13, 7, tzinfo=UTC))

    paid_on_1st = Payout.objects.filter(run__two_weekly_only=False)
    assert set(paid_on_1st.values_list("affiliate", "amount")) == {
        (monthly.pk, 6000),
        (two_weekly.pk, 5500),
    }


def test_one_payout_per_currency(now):
    affiliate = payable()
    approved(affiliate, 6000, currency="USD")
    approved(affiliate, 5000, currency="EUR")

    services.run_payouts(now=now)

    assert set(Payout.objects.values_list("currency", "amount")) == {("USD", 6000), ("EUR", 5000)}
    assert PayPalBatch.objects.count() == 2  # a PayPal batch holds one currency


def test_each_payout_stores_the_count_of_its_items(now):
    # given three approved USD entries and one EUR entry of one affiliate
    affiliate = payable()
    approved(affiliate, 2000, 2000, 2000, currency="USD")
    approved(affiliate, 5000, currency="EUR")

    services.run_payouts(now=now)

    # then the USD payout holds 3 items and says so, the EUR one 1
    stored = {p.currency: (p.entry_count, p.items.count()) for p in Payout.objects.all()}
    assert stored == {"USD": (3, 3), "EUR": (1, 1)}


def test_a_second_identical_run_pays_nothing_more(now):
    affiliate = payable()
    approved(affiliate, 6000)
    services.run_payouts(now=now)

    again = services.run_payouts(now=now)

    assert again.payouts == 0
    assert Payout.objects.count() == 1
    # nothing new to pay or hold: no empty run is recorded
    assert again.run is None and PayoutRun.objects.count() == 1
    assert again.lines[0].startswith("Nothing new to pay or hold")


def test_method_change_holds_payouts_for_48_hours(now):
    affiliate = payable()
    approved(affiliate, 6000)
    services.set_manual_details(
        affiliate=affiliate, bank_details="IBAN DE00 1234", password="pass-1234-word", now=now
    )

    held = services.run_payouts(now=now + timedelta(hours=47, minutes=59))

    assert held.payouts == 0
    skip = PayoutSkip.objects.get()
    assert (skip.affiliate, skip.amount) == (affiliate, 6000)
    assert "held until" in skip.reason

    paid = services.run_payouts(now=now + timedelta(hours=48))

    assert paid.payouts == 1
    assert Payout.objects.get().method == PayoutAccount.Method.MANUAL


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"paypal_confirmed_at": None}, "not confirmed"),
        ({"on_hold": True, "hold_reason": "fraud check"}, "held by admin: fraud check"),
        (
            {"method": "stripe", "stripe_account_id": "acct_1", "stripe_payouts_enabled": False},
            "Stripe",
        ),
        ({"method": "none"}, "no payout method"),
    ],
)
def test_held_affiliates_are_skipped_with_the_reason_recorded(now, change, reason):
    affiliate = payable()
    PayoutAccount.objects.filter(affiliate=affiliate).update(**change)
    entries = approved(affiliate, 6000)

    services.run_payouts(now=now)

    assert not Payout.objects.exists()
    assert reason in PayoutSkip.objects.get().reason
    assert states(entries) == [APPROVED]


def test_suspended_affiliates_are_skipped(now):
    affiliate = payable(status=Affiliate.Status.SUSPENDED)
    approved(affiliate, 6000)

    services.run_payouts(now=now)

    assert PayoutSkip.objects.get().reason == "affiliate is suspended: payouts held"


def test_dry_run_writes_nothing(now):
    affiliate = payable()
    entries = approved(affiliate, 6000)

    result = services.run_payouts(now=now, dry_run=True)

    assert result.payouts == 1 and result.run is None
    assert not Payout.objects.exists() and not PayoutRun.objects.exists()
    assert states(entries) == [APPROVED]


def test_with_approval_required_nothing_is_sent_until_an_admin_approves(now, settings, enqueued):
    settings.PAYOUT_REQUIRE_APPROVAL = True
    approved(payable(), 6000)

    result = services.run_payouts(now=now)

    assert Payout.objects.get().state == Payout.State.AWAITING_APPROVAL
    assert not [name for name, _ in enqueued if name.startswith("payouts.send")]

    services.approve_run(run_id=result.run.pk, actor=None, now=now)

    assert Payout.objects.get().state == Payout.State.PENDING
    assert ("payouts.send_paypal_batch", {"batch_id": PayPalBatch.objects.get().pk}) in enqueued


def test_paypal_payouts_go_in_batches_of_at_most_the_limit(now, monkeypatch):
    monkeypatch.setattr(runs, "PAYPAL_BATCH_LIMIT", 2)
    for _ in range(5):
        approved(payable(), 6000)

    services.run_payouts(now=now)

    sizes = sorted(b.payouts.count() for b in PayPalBatch.objects.all())
    assert sizes == [1, 2, 2]
    assert len(set(PayPalBatch.objects.values_list("sender_batch_id", flat=True))) == 3


def test_an_entry_cannot_be_in_two_live_payouts(now):
    from django.db import IntegrityError, transaction

    from payouts.models import PayoutItem

    affiliate = payable()
    (entry,) = approved(affiliate, 6000)
    services.run_payouts(now=now)
    payout = Payout.objects.get()
    other = Payout.objects.create(
        run=payout.run,
        affiliate=affiliate,
        amount=6000,
        currency="USD",
        method="paypal",
        state=Payout.State.PENDING,
        idempotency_key="other",
        created_at=now,
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutItem.objects.create(payout=other, entry=entry, amount=6000)


def test_ledger_checks_pass_after_a_run(now):
    approved(payable(), 6000, -500)

    services.run_payouts(now=now)

    assert selectors.ledger_problems() == []


def test_check_ledger_sees_a_paid_entry_outside_any_paid_payout(now):
    from commissions.services import move_entries

    (entry,) = approved(payable(), 6000)
    move_entries(entry_ids=[entry.pk], from_state=APPROVED, to_state=IN_PAYOUT, now=now)
    move_entries(
        entry_ids=[entry.pk], from_state=IN_PAYOUT, to_state=CommissionEntry.State.PAID, now=now
    )

    problems = selectors.ledger_violations()

    assert f"entry {entry.pk} is paid but in no paid payout" in problems


def test_an_affiliate_whose_user_is_deactivated_is_held_with_the_reason(now):
    affiliate = payable()
    affiliate.user.is_active = False
    affiliate.user.save(update_fields=["is_active"])
    entries = approved(affiliate, 6000)  # $60.00 due, over the $50.00 threshold

    result = services.run_payouts(now=now)

    assert result.payouts == 0 and not Payout.objects.exists()
    skip = PayoutSkip.objects.get()
    assert (skip.affiliate, skip.amount, skip.currency) == (affiliate, 6000, "USD")
    assert skip.reason == "affiliate's user account is deactivated: payouts held"
    assert states(entries) == [APPROVED]  # kept, not forfeited
    account = PayoutAccount.objects.get(affiliate=affiliate)
    assert "deactivated" in selectors.hold_reason(affiliate=affiliate, account=account, now=now)


def test_a_suspension_after_the_run_was_built_holds_the_payout_at_approval(now, settings, enqueued):
    settings.PAYOUT_REQUIRE_APPROVAL = True
    kept, suspended = payable(), payable()
    approved(kept, 6000)
    suspended_entries = approved(suspended, 7000)
    result = services.run_payouts(now=now)
    Affiliate.objects.filter(pk=suspended.pk).update(status=Affiliate.Status.SUSPENDED)

    sent = services.approve_run(run_id=result.run.pk, actor=None, now=now)

    assert sent == 1
    assert Payout.objects.get(affiliate=kept).state == Payout.State.PENDING
    held = Payout.objects.get(affiliate=suspended)
    assert held.state == Payout.State.FAILED and "suspended" in held.failure_reason
    assert states(suspended_entries) == [APPROVED]  # back in the balance, held by the next run


def test_two_back_to_back_runs_record_one_run_and_one_set_of_skips(now):
    approved(payable(), 6000)
    held = payable()
    PayoutAccount.objects.filter(affiliate=held).update(paypal_confirmed_at=None)
    approved(held, 6000)

    first = services.run_payouts(now=now)
    second = services.run_payouts(now=now + timedelta(seconds=1))

    assert (first.payouts, second.payouts) == (1, 0)
    assert second.run is None
    assert PayoutRun.objects.count() == 1 and PayoutSkip.objects.count() == 1


def test_a_run_that_only_carries_balances_is_not_recorded(now):
    approved(payable(), 1000)  # $10.00, under the $50.00 threshold

    result = services.run_payouts(now=now)

    assert result.run is None and result.carried == 1
    assert not PayoutRun.objects.exists()


def test_a_run_holding_something_new_is_recorded_even_without_payouts(now):
    held = payable()
    PayoutAccount.objects.filter(affiliate=held).update(paypal_confirmed_at=None)
    approved(held, 6000)
    services.run_payouts(now=now)
    approved(held, 1000)  # the held balance grows: $60.00 + $10.00 = $70.00

    again = services.run_payouts(now=now + timedelta(days=1))

    assert again.run is not None and again.run.state == PayoutRun.State.DONE
    assert sorted(PayoutSkip.objects.values_list("amount", flat=True)) == [6000, 7000]


def test_a_skip_row_is_unique_per_run_and_balance(now):
    from django.db import IntegrityError, transaction

    held = payable()
    PayoutAccount.objects.filter(affiliate=held).update(paypal_confirmed_at=None)
    approved(held, 6000)
    run = services.run_payouts(now=now).run

    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutSkip.objects.create(run=run, affiliate=held, currency="USD", amount=1, reason="x")


@pytest.mark.parametrize(
    ("status", "lang", "reason"),
    [
        ("applied", "en", "affiliate's application is still under review: payouts held"),
        ("rejected", "en", "affiliate's application was rejected: payouts held"),
        ("applied", "de", "Bewerbung des Partners wird noch geprüft: Auszahlungen zurückgehalten"),
        ("rejected", "fr", "la candidature de l’affilié a été refusée : paiements suspendus"),
    ],
)
def test_an_affiliate_not_approved_is_held_with_a_sentence_for_its_status(
    now, status, lang, reason
):
    # Not the raw status code in a template sentence ("affiliate is applied").
    from django.utils import translation

    affiliate = payable(status=status)
    account = PayoutAccount.objects.get(affiliate=affiliate)

    with translation.override(lang):
        shown = selectors.hold_reason(affiliate=affiliate, account=account, now=now)

    assert shown == reason
