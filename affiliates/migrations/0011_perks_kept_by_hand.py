"""Perks given before the perk jobs existed were given by hand: flag them so the jobs never
take them back (an early access or a two-weekly schedule an admin granted stays)."""

from django.db import migrations


def flag_existing_perks(apps, schema_editor):
    Affiliate = apps.get_model("affiliates", "Affiliate")
    Affiliate.objects.filter(early_access=True).update(early_access_by_hand=True)
    Affiliate.objects.filter(payout_frequency="two_weekly").update(payout_frequency_by_hand=True)


class Migration(migrations.Migration):
    dependencies = [("affiliates", "0010_perks_set_by_hand")]

    operations = [migrations.RunPython(flag_existing_perks, migrations.RunPython.noop)]
