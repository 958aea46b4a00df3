"""check_ledger (a payouts command: the app that sees both) runs commissions' checks and
payouts' together, with one output and one exit code."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from commissions.models import CommissionEntry
from commissions.services import move_entries
from tests.factories import CommissionEntryFactory

pytestmark = pytest.mark.django_db
State = CommissionEntry.State


def test_check_ledger_names_payouts_and_commissions_violations_together(now, capsys):
    # given an entry marked paid outside any payout (a payouts invariant) and an entry
    # approved before its hold ended (a commissions invariant)
    paid = CommissionEntryFactory(state=State.APPROVED, approved_at=now, approve_after=now)
    move_entries(entry_ids=[paid.pk], from_state=State.APPROVED, to_state=State.IN_PAYOUT, now=now)
    move_entries(entry_ids=[paid.pk], from_state=State.IN_PAYOUT, to_state=State.PAID, now=now)
    early = CommissionEntryFactory(
        state=State.APPROVED, approved_at=now, approve_after=now + timedelta(days=5)
    )

    # when check_ledger runs
    with pytest.raises(SystemExit) as exit_info:
        call_command("check_ledger")

    # then it exits 1 naming both, one line each
    err = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert f"VIOLATION: entry {paid.pk} is paid but in no paid payout" in err
    assert f"VIOLATION: entry {early.pk} was approved before its hold ended" in err


def test_check_ledger_is_ok_when_both_apps_are(capsys):
    CommissionEntryFactory()

    call_command("check_ledger")

    assert capsys.readouterr().out.strip() == "ledger OK"
