"""Data: mark every (affiliate, day) that has money due for a recompute, once.

Until this release the daily rollups' money columns were recomputed for the last two days
only, so an existing install's older days miss late payments, refunds and disputes (and
count refunded money as revenue). From now on every money write marks its day
(commissions.rollups); this marks the past, and the every-minute sweeper rebuilds it from
the payments and the ledger. A superset is harmless: a marked day is only recomputed.
"""

from django.db import migrations


def mark_every_money_day(apps, schema_editor):
    Payment = apps.get_model("commissions", "Payment")
    CommissionEntry = apps.get_model("commissions", "CommissionEntry")
    Referral = apps.get_model("tracking", "Referral")
    DailyStat = apps.get_model("tracking", "DailyStat")
    Due = apps.get_model("tracking", "DailyStatMoneyDue")

    pairs = set()
    pairs.update(
        Payment.objects.filter(referral__affiliate__isnull=False)
        .values_list("referral__affiliate_id", "paid_at__date")
        .distinct()
    )
    pairs.update(
        CommissionEntry.objects.filter(payment__isnull=False)
        .values_list("affiliate_id", "payment__paid_at__date")
        .distinct()
    )
    pairs.update(
        CommissionEntry.objects.filter(payment__isnull=True)
        .values_list("affiliate_id", "created_at__date")
        .distinct()
    )
    # Signup bounties count on the signup's day.
    pairs.update(
        Referral.objects.filter(affiliate__isnull=False)
        .values_list("affiliate_id", "created_at__date")
        .distinct()
    )
    # Days whose stored money may now be wrong (e.g. counted an entry later declined).
    pairs.update(
        DailyStat.objects.exclude(revenue=0, commission=0, first_payments=0).values_list(
            "affiliate_id", "day"
        )
    )
    Due.objects.bulk_create(
        [Due(affiliate_id=a, day=d) for a, d in sorted(pairs) if a is not None and d is not None],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("commissions", "0004_default_plan"),
        ("tracking", "0003_daily_money_due"),
    ]

    operations = [migrations.RunPython(mark_every_money_day, migrations.RunPython.noop)]
