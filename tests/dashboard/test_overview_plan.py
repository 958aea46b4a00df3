"""The overview's plan card: the rates that apply now, the tier by last month's sales, and
what is left this month to the next tier (commissions.rules' tiers, read-only)."""

from datetime import UTC, datetime

import pytest
import time_machine

from dashboard.selectors.overview import plan_summary
from tests.commissions.conftest import pay
from tests.factories import AffiliateFactory, PlanFactory, ReferralFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _sales(affiliate, *amounts_and_days):
    """Payments of affiliate's customer: (amount in cents, paid_at)."""
    customer = ReferralFactory(affiliate=affiliate, created_at=datetime(2026, 9, 1, tzinfo=UTC))
    for n, (amount, paid_at) in enumerate(amounts_and_days):
        pay(customer, external_id=f"p-{affiliate.pk}-{n}", amount=amount, paid_at=paid_at)


def test_the_tier_comes_from_last_months_sales_and_this_month_shows_what_is_left():
    # Given the installed default plan (tiers from 0 / 50000 / 100001 cents: 50/20, 60/25,
    # 70/30) and October sales of $400 + $200 = 60000 cents, November so far $300 = 30000
    alice = AffiliateFactory()
    _sales(
        alice,
        (40_000, datetime(2026, 10, 3, tzinfo=UTC)),
        (20_000, datetime(2026, 10, 31, 23, 59, tzinfo=UTC)),
        (30_000, datetime(2026, 11, 2, tzinfo=UTC)),
    )

    plan = plan_summary(affiliate=alice, now=NOW)

    # Then November is tier 2 (50000 ≤ 60000 ≤ 100000): 60 % first, 25 % recurring
    assert plan is not None
    assert plan.tier is not None and plan.tier.number == 2
    assert (plan.first_payment_bp, plan.recurring_bp) == (6000, 2500)
    assert plan.last_month_sales == 60_000
    assert plan.last_month.isoformat() == "2026-10-01"
    # and 30000 this month reaches tier 1 only: 50000 − 30000 = 20000 more for tier 2
    assert plan.this_month_sales == 30_000
    assert plan.next_tier is not None and plan.next_tier.number == 2
    assert plan.left_to_next_tier == 20_000
    assert plan.signup_bounty == 25


def test_at_the_top_tier_nothing_is_left_to_reach():
    alice = AffiliateFactory()
    _sales(
        alice,
        (100_001, datetime(2026, 10, 10, tzinfo=UTC)),
        (100_001, datetime(2026, 11, 10, tzinfo=UTC)),
    )

    plan = plan_summary(affiliate=alice, now=NOW)

    assert plan.tier.number == 3 and (plan.first_payment_bp, plan.recurring_bp) == (7000, 3000)
    assert plan.next_tier is None and plan.left_to_next_tier == 0


def test_an_override_replaces_plan_and_tiers():
    alice = AffiliateFactory(commission_override_bp=3500)

    plan = plan_summary(affiliate=alice, now=NOW)

    assert plan.override_bp == 3500
    assert plan.tier is None and plan.tiers == []


def test_a_flat_plan_shows_its_own_rates():
    flat = PlanFactory(signup_bounty=100, first_payment_bp=4000, recurring_bp=1000, use_tiers=False)
    alice = AffiliateFactory(plan=flat)

    plan = plan_summary(affiliate=alice, now=NOW)

    assert (plan.signup_bounty, plan.first_payment_bp, plan.recurring_bp) == (100, 4000, 1000)
    assert plan.tier is None


def test_the_page_shows_rates_tier_and_what_is_left(client):
    alice = AffiliateFactory()
    _sales(
        alice,
        (60_000, datetime(2026, 10, 3, tzinfo=UTC)),
        (30_000, datetime(2026, 11, 2, tzinfo=UTC)),
    )
    client.force_login(alice.user)

    with time_machine.travel(NOW, tick=False):
        html = client.get("/dashboard/").content.decode()

    assert '<dd id="rate-signup">USD 0.25</dd>' in html
    assert '<dd id="rate-first-payment">60.0%</dd>' in html
    assert '<dd id="rate-recurring">25.0%</dd>' in html
    assert "This month you are in tier 2 of 3: your sales in October 2026 were USD 600.00." in html
    assert "USD 200.00 more this month puts you in tier 2 next month." in html
    assert '<tr class="ov-current" aria-current="true"><td>2</td>' in html
