"""MonthlyPathStat / MonthlyReferrerStat from the daily breakdowns already there (afterwards
tracking.services.refresh_monthly_breakdowns keeps them as the daily rows are rewritten)."""

from django.db import migrations
from django.db.models import Sum
from django.db.models.functions import TruncMonth

BREAKDOWNS = (
    ("DailyPathStat", "MonthlyPathStat", "path"),
    ("DailyReferrerStat", "MonthlyReferrerStat", "domain"),
)


def backfill(apps, schema_editor):
    for daily_name, monthly_name, key in BREAKDOWNS:
        daily = apps.get_model("tracking", daily_name)
        monthly = apps.get_model("tracking", monthly_name)
        rows = (
            daily.objects.annotate(month=TruncMonth("day"))
            .values("affiliate_id", "month", key)
            .annotate(c=Sum("clicks"), u=Sum("unique_clicks"), s=Sum("signups"))
            .order_by()
        )
        batch = []
        for row in rows.iterator(chunk_size=5000):
            batch.append(
                monthly(
                    affiliate_id=row["affiliate_id"],
                    month=row["month"],
                    **{key: row[key]},
                    clicks=row["c"],
                    unique_clicks=row["u"],
                    signups=row["s"],
                )
            )
            if len(batch) >= 5000:
                monthly.objects.bulk_create(batch)
                batch = []
        monthly.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("tracking", "0013_monthly_breakdowns")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
