"""Data: the program's default commission plan, so a fresh install (migrate, no demo) pays
Publer's tiered figures from DESIGN.md and an admin has a row to edit.

$0.25 per signup; tiers by the affiliate's sales in the previous calendar month (program
currency, inclusive lower bounds in minor units, as commissions/rules.py documents them):
    0       … 49999  (< $500.00)            → 50 % first payment / 20 % recurring
    50000   … 100000 ($500.00 … $1,000.00)  → 60 % / 25 %
    100001  …        (> $1,000.00)          → 70 % / 30 %
The flat rates on the plan row (50 % / 20 %) are what the plan pays if an admin turns the
tiers off. No product-plan bonuses: those are a per-program choice (the demo adds Kinsta's).

An install that already has a default plan (e.g. one seeded by an earlier seed_demo) keeps
it untouched: the admin's figures win. The figures are a frozen copy, not an import, so
later code changes never change what this migration wrote.
"""

from django.db import migrations

NAME = "Default"
SIGNUP_BOUNTY = 25
FIRST_BP, RECURRING_BP = 5000, 2000
TIERS = [(0, 5000, 2000), (50_000, 6000, 2500), (100_001, 7000, 3000)]


def create_default_plan(apps, schema_editor):
    Plan = apps.get_model("affiliates", "Plan")
    PlanTier = apps.get_model("affiliates", "PlanTier")
    if Plan.objects.filter(is_default=True).exists():
        return
    name = NAME
    if Plan.objects.filter(name=name).exists():  # a non-default plan already holds the name
        name = "Default (Publer tiers)"
    plan = Plan.objects.create(
        name=name,
        is_default=True,
        signup_bounty=SIGNUP_BOUNTY,
        first_payment_bp=FIRST_BP,
        recurring_bp=RECURRING_BP,
        recurring_months=None,
        use_tiers=True,
    )
    PlanTier.objects.bulk_create(
        PlanTier(plan=plan, min_sales=m, first_payment_bp=f, recurring_bp=r) for m, f, r in TIERS
    )


class Migration(migrations.Migration):
    dependencies = [
        ("affiliates", "0003_username_skeleton"),
        ("commissions", "0003_ledger_trigger"),
    ]

    # Reversing leaves the plan: affiliates and entries may refer to it by then.
    operations = [migrations.RunPython(create_default_plan, migrations.RunPython.noop)]
