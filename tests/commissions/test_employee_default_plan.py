"""An employee with no plan of its own is paid by the employees' default plan that the
install migration (commissions.0016_employee_plan) creates: 10 % for 12 months."""

import pytest
import time_machine

from affiliates.models import Plan
from commissions.models import CommissionEntry
from tests.factories import AffiliateFactory, PlanFactory, ReferralFactory

from .test_employee_program import NAMED, _pay

pytestmark = pytest.mark.django_db


def test_the_install_creates_the_employees_plan():
    plan = Plan.objects.get(is_employee_default=True)
    assert (plan.first_payment_bp, plan.recurring_bp, plan.recurring_months) == (1000, 1000, 12)
    assert (plan.signup_bounty, plan.use_tiers, plan.is_default) == (0, False, False)


def test_an_employee_without_a_plan_earns_ten_percent_for_twelve_months(api):
    # given an employee with no plan of its own, and a customer referred by an affiliate
    # with a flat 30 % plan
    erin = AffiliateFactory(plan=None, is_employee=True, username="erin")
    flat = PlanFactory(name="Flat 30%", first_payment_bp=3000, recurring_bp=3000, use_tiers=False)
    referrer = AffiliateFactory(plan=flat)
    ReferralFactory(affiliate=referrer, customer_id="cust-1", email="buyer@shop.test")
    with time_machine.travel(NAMED, tick=False):
        named = api.post(
            "/api/v1/attributions", {"customer_id": "cust-1", "employee": "erin"}, format="json"
        )
    assert named.status_code == 201

    # when the customer pays $40.00 at months 0, 11 and 12 from the naming (1 Oct 2025)
    for pid, at in (("m0", "2025-10-01"), ("m11", "2026-09-01"), ("m12", "2026-10-01")):
        _pay(api, pid, f"{at}T12:00:00Z")

    # then the employee earns 4000 × 10 % = 400 twice (month 12 is outside the window), not
    # the default plan's tiered 50 % / 20 %; the affiliate earns 4000 × 30 % = 1200 each time
    def amounts(affiliate):
        return list(
            CommissionEntry.objects.filter(affiliate=affiliate, source_type="payment")
            .order_by("payment__paid_at")
            .values_list("amount", flat=True)
        )

    assert amounts(erin) == [400, 400]
    assert amounts(referrer) == [1200, 1200, 1200]


def test_without_the_employees_plan_employees_fall_back_to_the_default_plan(api):
    # given an admin removed the employees' plan
    Plan.objects.filter(is_employee_default=True).delete()
    erin = AffiliateFactory(plan=None, is_employee=True, username="erin")
    ReferralFactory(affiliate=None, employee=erin, employee_at=NAMED, customer_id="cust-1")

    # when the customer's first payment of $40.00 arrives
    _pay(api, "m0", "2025-10-01T12:00:00Z")

    # then the default plan pays: first payment, lowest tier 50 % → 4000 × 50 % = 2000
    entry = CommissionEntry.objects.get(affiliate=erin, source_type="payment")
    assert entry.amount == 2000
