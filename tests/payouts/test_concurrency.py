"""Two payout runs at once on PostgreSQL (threads, separate connections): each entry is put
in exactly one payout."""

import threading

import pytest
from django.db import connection

from commissions.models import CommissionEntry
from payouts import selectors, services
from payouts.models import Payout, PayoutItem
from tests.factories import AffiliateFactory, CommissionEntryFactory, PayoutAccountFactory


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_put_each_entry_in_one_payout(now):
    entries = []
    for _ in range(30):
        affiliate = AffiliateFactory()
        PayoutAccountFactory(affiliate=affiliate)
        entries += [
            CommissionEntryFactory(
                affiliate=affiliate, amount=3000, state=CommissionEntry.State.APPROVED
            )
            for _ in range(2)
        ]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(services.run_payouts(now=now))
        except Exception as exc:  # noqa: BLE001 — a refused run is acceptable, a double pay is not
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert Payout.objects.count() == 30
    assert PayoutItem.objects.count() == len(entries) == 60
    assert sum(r.payouts for r in results) == 30
    assert set(CommissionEntry.objects.values_list("state", flat=True)) == {
        CommissionEntry.State.IN_PAYOUT
    }
    assert selectors.ledger_problems() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_runs_fired_together_record_one_run_and_no_duplicate_skips(now):
    # given 10 payable affiliates and 3 held ones ($60.00 each, over the $50.00 threshold)
    from payouts.models import PayoutAccount, PayoutRun, PayoutSkip

    for _ in range(10):
        affiliate = AffiliateFactory()
        PayoutAccountFactory(affiliate=affiliate)
        CommissionEntryFactory(affiliate=affiliate, amount=6000, state="approved")
    for _ in range(3):
        affiliate = AffiliateFactory()
        PayoutAccountFactory(affiliate=affiliate)
        PayoutAccount.objects.filter(affiliate=affiliate).update(paypal_confirmed_at=None)
        CommissionEntryFactory(affiliate=affiliate, amount=6000, state="approved")
    barrier = threading.Barrier(2)
    first_done = threading.Event()
    results, errors = [], []

    def run(*, wait_for_first: bool):
        result = None
        try:
            if wait_for_first:
                first_done.wait(timeout=30)  # a second beat firing just after the first
            else:
                barrier.wait()  # two beats firing at the same instant
            result = services.run_payouts(now=now)
            results.append(result)
        except Exception as exc:  # noqa: BLE001 — collected and asserted below
            errors.append(exc)
        finally:
            connection.close()
            if result is None or not result.locked_out:  # the run that did the work is over
                first_done.set()

    # when three runs are triggered: two at once, one right after the first finished
    threads = [threading.Thread(target=run, kwargs={"wait_for_first": w}) for w in (0, 0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # then exactly one run is recorded, with its 10 payouts and the 3 skips once each
    assert errors == []
    assert PayoutRun.objects.count() == 1
    run_row = PayoutRun.objects.get()
    assert run_row.payout_count == 10 and run_row.totals == {"USD": 60000}  # 10 × $60.00
    assert PayoutSkip.objects.count() == 3
    assert sum(r.payouts for r in results) == 10
    assert selectors.ledger_problems() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_last_two_payouts_finishing_at_once_still_complete_the_run(now):
    # given a run with two manual payouts, both pending
    from payouts.models import PayoutRun

    for _ in range(2):
        affiliate = AffiliateFactory()
        PayoutAccountFactory(affiliate=affiliate, method="manual", bank_details="IBAN DE00")
        CommissionEntryFactory(affiliate=affiliate, amount=6000, state="approved")
    run_id = services.run_payouts(now=now).run.pk
    payout_ids = list(Payout.objects.values_list("pk", flat=True))
    barrier = threading.Barrier(2)
    errors = []

    def pay(payout_id: int):
        try:
            barrier.wait()
            services.mark_payout_paid(payout_id=payout_id, now=now, reference="REF")
        except Exception as exc:  # noqa: BLE001 — collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    # when both are marked paid at the same moment in two transactions
    threads = [threading.Thread(target=pay, args=(pk,)) for pk in payout_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # then the run is completed (neither transaction missed the other's commit)
    assert errors == []
    assert PayoutRun.objects.get(pk=run_id).state == PayoutRun.State.COMPLETED
