from django.db import migrations, models


class Migration(migrations.Migration):
    """A balance (affiliate, currency) is held back at most once per run."""

    dependencies = [
        ("affiliates", "0003_username_skeleton"),
        ("payouts", "0003_complete_finished_runs"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="payoutskip",
            constraint=models.UniqueConstraint(
                fields=("run", "affiliate", "currency"), name="one_skip_per_run_balance"
            ),
        ),
    ]
