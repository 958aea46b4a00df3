"""Stamp every existing commission entry's earning day (commissions/ledger_rollups.py's
rule) in id batches, then build the ledger's daily rollup from the stamped rows in one
grouped pass. Rows written by older code while this runs are stamped by the sweep."""

from datetime import UTC

from django.db import migrations
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateField,
    Max,
    Min,
    OuterRef,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Cast, Coalesce, TruncDate

BATCH = 20_000


def backfill(apps, schema_editor):
    Entry = apps.get_model("commissions", "CommissionEntry")
    Payment = apps.get_model("commissions", "Payment")
    Referral = apps.get_model("tracking", "Referral")
    LedgerDay = apps.get_model("commissions", "LedgerDay")
    written = TruncDate("created_at", tzinfo=UTC)
    paid_day = Payment.objects.filter(pk=OuterRef("payment_id")).annotate(
        d=TruncDate("paid_at", tzinfo=UTC)
    )
    signup_day = Referral.objects.filter(
        pk=Cast(OuterRef("source_id"), BigIntegerField())
    ).annotate(d=TruncDate("created_at", tzinfo=UTC))
    earned_on = Case(
        When(payment_id__isnull=False, then=Subquery(paid_day.values("d")[:1])),
        When(
            source_type="signup",
            source_id__regex=r"^[0-9]{1,18}$",
            then=Coalesce(Subquery(signup_day.values("d")[:1]), written),
        ),
        default=written,
        output_field=DateField(),
    )
    bounds = Entry.objects.aggregate(first=Min("pk"), last=Max("pk"))
    if bounds["first"] is None:
        return
    for lo in range(bounds["first"], bounds["last"] + 1, BATCH):
        # Only the state-free column changes: the ledger's append-only trigger allows it.
        Entry.objects.filter(pk__gte=lo, pk__lt=lo + BATCH, earned_on__isnull=True).update(
            earned_on=earned_on
        )
    LedgerDay.objects.all().delete()
    rows = (
        Entry.objects.filter(earned_on__isnull=False)
        .values("affiliate_id", "earned_on", "currency", "state")
        .annotate(total=Sum("amount"), n=Count("amount"))
        .order_by()
    )
    batch = []
    for r in rows.iterator(chunk_size=5000):
        batch.append(
            LedgerDay(
                affiliate_id=r["affiliate_id"],
                day=r["earned_on"],
                currency=r["currency"],
                state=r["state"],
                amount=r["total"] or 0,
                entries=r["n"],
            )
        )
        if len(batch) >= 5000:
            LedgerDay.objects.bulk_create(batch)
            batch = []
    LedgerDay.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("commissions", "0011_ledger_day_rollup")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
