from django.db import migrations, models


class Migration(migrations.Migration):
    """A run reaches `completed` (with its time) once every payout in it is final."""

    dependencies = [
        ("payouts", "0001_payouts"),
    ]

    operations = [
        migrations.AddField(
            model_name="payoutrun",
            name="completed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="payoutrun",
            name="state",
            field=models.CharField(
                choices=[
                    ("awaiting_approval", "Awaiting approval"),
                    ("approved", "Approved (sending)"),
                    ("completed", "Completed (every payout final)"),
                    ("done", "Nothing to send"),
                ],
                max_length=24,
            ),
        ),
    ]
