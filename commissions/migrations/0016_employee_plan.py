"""Data: the employees' default plan, DESIGN.md's employee program — an employee named at
upgrade earns 10 % of that customer's payments for 12 months (rules.employee_default_plan:
the plan of every employee without one of its own). No signup bounty, flat rates, no tiers.

An install that already has an employees' default plan keeps it. The figures are a frozen
copy, so later code changes never change what this migration wrote.
"""

from django.db import migrations

NAME = "Employees"
RATE_BP = 1000  # 10 %
MONTHS = 12


def create_employee_plan(apps, schema_editor):
    Plan = apps.get_model("affiliates", "Plan")
    if Plan.objects.filter(is_employee_default=True).exists():
        return
    name = NAME
    if Plan.objects.filter(name=name).exists():  # a plan already holds the name
        name = "Employees (10 % for 12 months)"
    Plan.objects.create(
        name=name,
        is_default=False,
        is_employee_default=True,
        signup_bounty=0,
        first_payment_bp=RATE_BP,
        recurring_bp=RATE_BP,
        recurring_months=MONTHS,
        use_tiers=False,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("affiliates", "0007_plan_is_employee_default"),
        ("commissions", "0015_merge_prizes_and_dashboard_indexes"),
    ]

    # Reversing leaves the plan: employees and entries may refer to it by then.
    operations = [migrations.RunPython(create_employee_plan, migrations.RunPython.noop)]
