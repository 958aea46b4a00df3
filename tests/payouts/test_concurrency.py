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
