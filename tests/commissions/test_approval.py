"""The daily approval job: set-based, fixed cutoff, safe twice and concurrently."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from commissions.models import CommissionEntry
from commissions.services import approve_due_commissions
from tests.factories import AffiliateFactory, CommissionEntryFactory

NOV = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_hold_is_thirty_times_24_hours_in_utc(referral):
    from tests.commissions.conftest import pay

    # given a payment at 10 Nov 12:00 UTC → approve_after 10 Dec 12:00 UTC
    pay(referral, external_id="p1", amount=4000, paid_at=NOV)

    # when the job runs one second before and exactly at the end of the hold
    before = approve_due_commissions(now=NOV + timedelta(days=30, seconds=-1))
    at = approve_due_commissions(now=datetime(2026, 12, 10, 12, 0, tzinfo=UTC))

    # then the entry is approved at the instant, not a second earlier
    assert (before.approved, at.approved) == (0, 1)


@pytest.mark.django_db
def test_job_is_batched_and_safe_to_run_twice(mailoutbox, django_capture_on_commit_callbacks):
    # given 25 due entries for 2 affiliates and 5 not yet due
    a, b = AffiliateFactory(), AffiliateFactory()
    for i in range(25):
        CommissionEntryFactory(affiliate=a if i % 2 else b, approve_after=NOV)
    for _ in range(5):
        CommissionEntryFactory(affiliate=a, approve_after=NOV + timedelta(days=2))

    # when it runs twice with a batch of 7
    with django_capture_on_commit_callbacks(execute=True):
        first = approve_due_commissions(now=NOV, batch_size=7)
        second = approve_due_commissions(now=NOV, batch_size=7)

    # then 25 move once, in 4 batches; 5 stay pending; each affiliate gets one e-mail
    assert (first.approved, first.batches, second.approved) == (25, 4, 0)
    assert CommissionEntry.objects.filter(state="pending").count() == 5
    assert len(mailoutbox) == 2


@pytest.mark.django_db
def test_job_stops_after_max_batches_and_reports_more():
    for _ in range(5):
        CommissionEntryFactory(approve_after=NOV)
    result = approve_due_commissions(now=NOV, batch_size=2, max_batches=1)
    assert (result.approved, result.more) == (2, True)


@pytest.mark.django_db
def test_approve_commissions_command_takes_now(capsys):
    CommissionEntryFactory(approve_after=NOV)
    call_command("approve_commissions", "--now", "2026-12-11T00:00:00+00:00")
    assert "approved 1" in capsys.readouterr().out
    assert CommissionEntry.objects.get().approved_at == datetime(2026, 12, 11, tzinfo=UTC)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_approve_each_entry_once():
    # given 3000 due entries
    affiliate = AffiliateFactory()
    CommissionEntry.objects.bulk_create(
        [
            CommissionEntry(
                kind="recurring",
                affiliate=affiliate,
                amount=100,
                currency="USD",
                source_type="admin",
                source_id=str(i),
                rule="t",
                approve_after=NOV,
            )
            for i in range(3000)
        ]
    )
    results = []

    def run():
        try:
            results.append(approve_due_commissions(now=NOV, batch_size=500, notify=False))
        finally:
            connection.close()

    # when two runs start at once
    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # then together they approved each entry exactly once
    assert sum(r.approved for r in results) == 3000
    assert CommissionEntry.objects.filter(state="approved").count() == 3000
