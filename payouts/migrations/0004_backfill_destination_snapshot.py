"""Payouts created before 0003 have no snapshot of bank and tax details. For those still
open (to be paid by hand), copy what the account holds now — what the export showed until
this migration — so the export keeps working; closed payouts stay as they are."""

from django.db import migrations

OPEN = ["awaiting_approval", "pending", "sending", "unknown"]


def backfill(apps, schema_editor):
    Payout = apps.get_model("payouts", "Payout")
    PayoutAccount = apps.get_model("payouts", "PayoutAccount")
    accounts = {a.affiliate_id: a for a in PayoutAccount.objects.all()}
    for payout in Payout.objects.filter(state__in=OPEN, tax_legal_name="", bank_details=""):
        account = accounts.get(payout.affiliate_id)
        if account is None:
            continue
        payout.bank_details = account.bank_details if payout.method == "manual" else ""
        payout.tax_legal_name = account.tax_legal_name
        payout.tax_country = account.tax_country
        payout.tax_id = account.tax_id
        payout.tax_form = account.tax_form
        payout.save(
            update_fields=["bank_details", "tax_legal_name", "tax_country", "tax_id", "tax_form"]
        )


class Migration(migrations.Migration):
    dependencies = [("payouts", "0003_payout_destination_snapshot")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
