"""seed_demo's affiliates part: every status, aliases, coupons, plans, staff roles."""

from io import StringIO
from random import Random

import pytest
from django.core.management import call_command

from affiliates import demo
from affiliates.models import Affiliate, Coupon, Plan, User
from affiliates.roles import PROGRAM_MANAGER, SUPPORT
from affiliates.selectors import resolve_username

pytestmark = pytest.mark.django_db


def test_the_demo_has_affiliates_in_every_status_aliases_coupons_and_staff(now):
    lines = demo.seed(now=now, rng=Random(1))
    demo.seed(now=now, rng=Random(1))  # idempotent

    statuses = set(Affiliate.objects.values_list("status", flat=True))
    assert statuses == set(Affiliate.Status.values)
    erin = Affiliate.objects.get(username="erin")
    for alias in ("erinwrites", "erin-blog"):
        assert resolve_username(alias).public_id == erin.public_id
    assert set(Coupon.objects.values_list("code", flat=True)) >= {"ALICE10", "ERIN20"}
    assert User.objects.get(email=demo.MANAGER_EMAIL).groups.get().name == PROGRAM_MANAGER
    assert User.objects.get(email=demo.SUPPORT_EMAIL).groups.get().name == SUPPORT
    assert any(demo.MANAGER_EMAIL in line for line in lines)
    assert any("alice@example.org" in line for line in lines)


def test_the_demo_plans_carry_publers_tiers_kinstas_bonuses_and_the_employee_plan(now):
    demo.seed(now=now, rng=Random(1))

    default = Plan.objects.get(is_default=True)
    # Inclusive lower bounds in cents: $0, $500.00, $1,000.01 (so $1,000.00 is the middle tier).
    assert list(default.tiers.values_list("min_sales", "first_payment_bp", "recurring_bp")) == [
        (0, 5000, 2000),
        (50_000, 6000, 2500),
        (100_001, 7000, 3000),
    ]
    assert dict(default.bonuses.values_list("product_plan", "amount")) == {
        "Starter": 5000,
        "Pro": 10_000,
        "Business": 15_000,
        "Enterprise": 50_000,
    }
    assert set(default.bonuses.values_list("hold_days", flat=True)) == {60}
    basic = Plan.objects.get(name="Basic 30%")
    assert (basic.use_tiers, basic.first_payment_bp, basic.recurring_bp) == (False, 3000, 3000)
    employee = Plan.objects.get(name="Employee 10% / 12 months")
    assert (
        employee.use_tiers,
        employee.first_payment_bp,
        employee.recurring_bp,
        employee.recurring_months,
        employee.signup_bounty,
    ) == (False, 1000, 1000, 12, 0)


def test_seed_demo_prints_the_logins():
    out = StringIO()

    call_command("seed_demo", "--quiet-progress", stdout=out, stderr=StringIO())

    assert "admin@example.com" in out.getvalue()
    assert demo.SUPPORT_EMAIL in out.getvalue()
