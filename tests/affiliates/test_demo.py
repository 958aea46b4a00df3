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


def _program_counts() -> dict[str, int]:
    from commissions.models import CommissionEntry, Payment
    from payouts.models import Payout
    from tracking.models import Click, Referral

    return {
        "clicks": Click.objects.count(),
        "referrals": Referral.objects.count(),
        "payments": Payment.objects.count(),
        "entries": CommissionEntry.objects.count(),
        "payouts": Payout.objects.count(),
        "affiliates": Affiliate.objects.count(),
    }


def test_seed_demo_builds_a_living_program_ending_at_its_clock_and_tops_it_up_later():
    from datetime import UTC, datetime, timedelta

    from django.db.models import Max, Min
    from django.utils import timezone

    from commissions.models import CommissionEntry, Dispute, Payment, Refund
    from payouts.models import Payout
    from tracking.models import Click, DailyStat, Referral

    pinned = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    seed = lambda *args: call_command(  # noqa: E731
        "seed_demo", "--quiet-progress", *args, stdout=StringIO(), stderr=StringIO()
    )

    # when the demo is seeded to end at a pinned clock
    seed("--now", pinned.isoformat())

    # then 90 days of click rollups end on that day, for the demo's busiest affiliate
    alice = Affiliate.objects.get(username="alice")
    days = DailyStat.objects.filter(affiliate=alice, clicks__gt=0).aggregate(
        first=Min("day"), last=Max("day")
    )
    assert days == {"first": pinned.date() - timedelta(days=90), "last": pinned.date()}
    # and referred customers in every state
    referred = Referral.objects.filter(affiliate__isnull=False)
    assert referred.filter(payments__isnull=True).exists()  # signed up only
    month_ago = pinned - timedelta(days=31)
    assert referred.filter(payments__paid_at__gte=month_ago).exists()  # paying
    churned = (
        referred.filter(payments__isnull=False, payments__refunds__isnull=True)
        .exclude(payments__disputes__isnull=False)
        .annotate(last=Max("payments__paid_at"))
        .filter(last__lt=pinned - timedelta(days=45))
    )
    assert churned.exists()
    assert Refund.objects.filter(payment__referral__in=referred).exists()  # refunded
    assert Dispute.objects.filter(status="lost").exists()  # disputed
    # and the ledger in every state: pending (in the hold), approved (waiting for the next
    # run), paid (by past payout runs), declined (refunded or charged back)
    states = set(CommissionEntry.objects.values_list("state", flat=True))
    assert {"pending", "approved", "paid", "declined"} <= states
    # and a payout history: the monthly run of the 1st (13:07 UTC), paid by PayPal 3 h later
    run_day = datetime(2026, 11, 1, 16, 7, tzinfo=UTC)
    assert Payout.objects.filter(state="paid", paid_at=run_day).exists()
    assert not Payout.objects.exclude(state="paid").exists()
    # and nothing after the clock
    assert not Payment.objects.filter(paid_at__gt=pinned).exists()
    assert not Referral.objects.filter(created_at__gt=pinned).exists()
    # and an applicant and a suspended affiliate
    assert Affiliate.objects.filter(status="applied").exists()
    assert Affiliate.objects.filter(status="suspended").exists()

    # when it is seeded again at the same clock, nothing changes
    counts = _program_counts()
    seed("--now", pinned.isoformat())
    assert _program_counts() == counts

    # when it is seeded later without a clock, it ends today: the new days are added, the
    # old ones kept, nobody duplicated
    seed()
    today = timezone.now().astimezone(UTC).date()
    last = DailyStat.objects.filter(affiliate=alice, clicks__gt=0).aggregate(last=Max("day"))
    # (today's own clicks may not have happened yet in its first hours)
    assert last["last"] in (today, today - timedelta(days=1))
    assert not Click.objects.filter(at__gt=timezone.now()).exists()
    after = _program_counts()
    assert after["affiliates"] == counts["affiliates"]
    assert after["clicks"] > counts["clicks"] and after["payments"] >= counts["payments"]
    customers = Referral.objects.values_list("customer_id", flat=True)
    assert len(set(customers)) == len(customers)


def test_seed_demo_refuses_a_clock_that_is_not_iso_8601():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("seed_demo", "--now", "yesterday", stdout=StringIO(), stderr=StringIO())
