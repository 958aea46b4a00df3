"""The ledger is append-only: in the model (every database) and by a trigger (PostgreSQL)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from commissions.models import CommissionEntry, LedgerImmutableError
from commissions.services import move_entries
from tests.factories import CommissionEntryFactory

pytestmark = pytest.mark.django_db


def test_model_refuses_to_change_an_entrys_amount():
    # given an entry of 1000
    entry = CommissionEntryFactory(amount=1000)

    # when code changes its amount and saves
    entry.amount = 2000

    # then the save is refused and the row keeps 1000
    with pytest.raises(LedgerImmutableError):
        entry.save()
    assert CommissionEntry.objects.get(pk=entry.pk).amount == 1000


def test_model_refuses_bulk_update_of_money_columns_and_delete():
    entry = CommissionEntryFactory(amount=1000)
    with pytest.raises(LedgerImmutableError):
        CommissionEntry.objects.filter(pk=entry.pk).update(amount=1)
    with pytest.raises(LedgerImmutableError):
        CommissionEntry.objects.filter(pk=entry.pk).update(currency="EUR")
    with pytest.raises(LedgerImmutableError):
        entry.delete()
    with pytest.raises(LedgerImmutableError):
        CommissionEntry.objects.filter(pk=entry.pk).delete()
    assert CommissionEntry.objects.filter(pk=entry.pk, amount=1000).exists()


def test_state_may_move_along_the_allowed_transitions_only(now):
    entry = CommissionEntryFactory()

    assert (
        move_entries(entry_ids=[entry.pk], from_state="pending", to_state="approved", now=now) == 1
    )
    # a second identical move is a no-op (compare-and-set)
    assert (
        move_entries(entry_ids=[entry.pk], from_state="pending", to_state="approved", now=now) == 0
    )
    with pytest.raises(ValueError):
        move_entries(entry_ids=[entry.pk], from_state="approved", to_state="pending", now=now)
    entry.refresh_from_db()
    entry.state_note = "notes may change"
    entry.save()  # state columns are not immutable


@pytest.mark.postgres
def test_postgres_trigger_refuses_update_of_money_columns_and_delete():
    # given an entry, written around the model guard with raw SQL
    entry = CommissionEntryFactory(amount=1000)

    # when raw SQL changes the amount / the rule / deletes the row
    for sql in (
        "UPDATE commissions_commissionentry SET amount = 1 WHERE id = %s",
        "UPDATE commissions_commissionentry SET rule = 'edited' WHERE id = %s",
        "DELETE FROM commissions_commissionentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [entry.pk])

    # then the row is untouched, while a state change through SQL is allowed
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE commissions_commissionentry SET state = 'approved', approved_at = now() WHERE id = %s",
            [entry.pk],
        )
    entry.refresh_from_db()
    assert (entry.amount, entry.rule, entry.state) == (1000, "factory", "approved")


def test_unique_constraint_allows_one_entry_per_source_kind_and_affiliate():
    from django.db import IntegrityError

    entry = CommissionEntryFactory(source_type="payment", source_id="7")
    with pytest.raises(IntegrityError), transaction.atomic():
        CommissionEntryFactory(
            source_type="payment", source_id="7", kind=entry.kind, affiliate=entry.affiliate
        )


def test_check_ledger_names_each_violation_and_exits_non_zero(now, capsys):
    # given an approved entry whose hold had not ended, and a positive clawback
    CommissionEntryFactory(state="approved", approved_at=now, approve_after=now + timedelta(days=5))
    CommissionEntryFactory(kind="clawback", amount=100)

    # when check_ledger runs
    with pytest.raises(SystemExit) as exit_info:
        call_command("check_ledger")

    # then it exits 1 naming both
    err = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert "approved before its hold ended" in err
    assert "is not negative" in err


def test_check_ledger_passes_on_a_sound_ledger(capsys):
    CommissionEntryFactory()
    call_command("check_ledger")
    assert "ledger OK" in capsys.readouterr().out
