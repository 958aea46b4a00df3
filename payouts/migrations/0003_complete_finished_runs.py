from django.db import migrations
from django.db.models import Max


def complete_finished_runs(apps, schema_editor):
    """Runs left "Approved (sending)" although every payout in them is already paid or
    failed (before runs could complete) become completed, at their last payout's time."""
    PayoutRun = apps.get_model("payouts", "PayoutRun")
    Payout = apps.get_model("payouts", "Payout")
    for run in PayoutRun.objects.filter(state="approved"):
        payouts = Payout.objects.filter(run=run)
        if not payouts.exists() or payouts.exclude(state__in=["paid", "failed"]).exists():
            continue
        last = payouts.aggregate(paid=Max("paid_at"), failed=Max("failed_at"))
        done_at = max(t for t in (last["paid"], last["failed"], run.started_at) if t)
        PayoutRun.objects.filter(pk=run.pk, state="approved").update(
            state="completed", completed_at=done_at
        )


class Migration(migrations.Migration):
    dependencies = [
        ("payouts", "0002_run_completed"),
    ]

    operations = [
        migrations.RunPython(complete_finished_runs, migrations.RunPython.noop),
    ]
