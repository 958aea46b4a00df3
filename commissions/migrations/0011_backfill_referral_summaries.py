"""Data: every existing referral's summary (tracking's Referral.stat_*), once.

From now on every write that changes a referral's money or subscription marks it
(commissions.referral_stats) and the every-minute sweeper recomputes it; this computes the
past, by the same code, on this migration's historical models, a thousand referrals per
batch (four queries each): nothing to do on an empty database, a few seconds per 100,000
referrals on a big one.
"""

from types import SimpleNamespace

from django.db import migrations
from django.utils import timezone


def backfill_referral_summaries(apps, schema_editor):
    from commissions.referral_stats import backfill

    models = SimpleNamespace(
        Referral=apps.get_model("tracking", "Referral"),
        Payment=apps.get_model("commissions", "Payment"),
        PlanChange=apps.get_model("commissions", "PlanChange"),
        CommissionEntry=apps.get_model("commissions", "CommissionEntry"),
    )
    backfill(now=timezone.now(), models=models)


class Migration(migrations.Migration):
    dependencies = [
        ("commissions", "0010_perfled_entry_indexes"),
        ("tracking", "0007_referral_summary"),
    ]

    operations = [migrations.RunPython(backfill_referral_summaries, migrations.RunPython.noop)]
