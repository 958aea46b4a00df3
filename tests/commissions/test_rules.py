"""Commission rules with the seeds' figures, computed by hand in each test's comment."""

from datetime import UTC, datetime, timedelta

import pytest

from commissions.models import CommissionEntry
from commissions.services import approve_due_commissions, record_signup_commission
from config.money import apply_rate, round_half_up
from tests.commissions.conftest import pay
from tests.factories import AffiliateFactory, PlanFactory, ReferralFactory

pytestmark = pytest.mark.django_db
Kind = CommissionEntry.Kind
NOV = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def entries(**filters):
    return list(CommissionEntry.objects.filter(**filters).order_by("pk"))


def test_rounding_is_half_up_once():
    # 12.5 → 13; −12.5 → −13 (away from zero); 1 cent × 50 % = 0.5 → 1
    assert round_half_up(12.5) == 13
    assert round_half_up(-12.5) == -13
    assert apply_rate(1, 5000) == 1
    assert apply_rate(3, 5000) == 2  # 1.5 → 2
    assert apply_rate(-3, 5000) == -2
    assert apply_rate(999, 2000) == 200  # 199.8 → 200


def test_flat_30_percent_of_ten_dollars_is_300_cents_every_month(flat30):
    # given an affiliate on Publer's basic plan (30 %) and a $10.00/month customer
    referral = ReferralFactory(affiliate=AffiliateFactory(plan=flat30))

    # when the customer pays three months
    for month in range(3):
        pay(
            referral, external_id=f"p{month}", amount=1000, paid_at=NOV + timedelta(days=31 * month)
        )

    # then each payment earns 1000 × 30 % = 300 cents
    assert [e.amount for e in entries(source_type="payment")] == [300, 300, 300]
    assert [e.kind for e in entries(source_type="payment")] == [
        Kind.FIRST_PAYMENT,
        Kind.RECURRING,
        Kind.RECURRING,
    ]


def test_default_plan_signup_bounty_is_25_cents(referral, now):
    # given the default plan ($0.25 per signup)

    # when the signup commission is recorded (twice: the task may run twice)
    record_signup_commission(referral_id=referral.pk, now=now)
    record_signup_commission(referral_id=referral.pk, now=now)

    # then one 25-cent pending entry, held 30 days from the signup
    [entry] = entries(kind=Kind.SIGNUP)
    assert (entry.amount, entry.currency, entry.state) == (25, "USD", "pending")
    assert entry.approve_after == referral.created_at + timedelta(days=30)


def test_default_plan_forty_dollar_first_payment_earns_2000_and_recurring_800(referral):
    # given no sales last month → tier 1 (50 % first / 20 % recurring)

    # when the customer pays $40.00 twice
    pay(referral, external_id="p1", amount=4000, paid_at=NOV)
    pay(referral, external_id="p2", amount=4000, paid_at=NOV + timedelta(days=30))

    # then 4000 × 50 % = 2000 for the first; 4000 × 20 % = 800 for the recurring one
    first, recurring = entries(source_type="payment")
    assert (first.kind, first.amount, first.rate_bp) == (Kind.FIRST_PAYMENT, 2000, 5000)
    assert (recurring.kind, recurring.amount, recurring.rate_bp) == (Kind.RECURRING, 800, 2000)
    assert first.approve_after == NOV + timedelta(days=30)  # 30 × 24 h in UTC


@pytest.mark.parametrize(
    ("october_sales", "expected_first_bp", "tier_words"),
    [
        (49_999, 5000, "$499.99 < $500.00 → tier 1"),
        (50_000, 6000, "exactly $500.00 → tier 2 (lower bound inclusive)"),
        (99_999, 6000, "$999.99 → tier 2"),
        (100_000, 6000, "exactly $1,000.00 → still tier 2 ('over $1,000' is strict)"),
        (100_001, 7000, "$1,000.01 → tier 3"),
    ],
)
def test_tier_follows_previous_calendar_month_sales(
    affiliate, october_sales, expected_first_bp, tier_words
):
    # given October sales by the affiliate's other customers: <october_sales> cents
    other = ReferralFactory(affiliate=affiliate)
    pay(
        other,
        external_id="oct",
        amount=october_sales,
        paid_at=datetime(2026, 10, 31, 23, 59, tzinfo=UTC),
    )
    newcomer = ReferralFactory(affiliate=affiliate)

    # when a new customer pays $40.00 in November
    pay(newcomer, external_id="nov", amount=4000, paid_at=NOV)

    # then the rate is the tier's: 4000 × 50 % = 2000, × 60 % = 2400, × 70 % = 2800
    [entry] = entries(source_id=str(newcomer.payments.get().pk))
    assert entry.rate_bp == expected_first_bp, tier_words
    assert entry.amount == 4000 * expected_first_bp // 10_000


def test_sales_of_the_current_month_do_not_move_the_tier(affiliate):
    # given $2,000.00 of sales on 1 November (same month, not the previous one)
    other = ReferralFactory(affiliate=affiliate)
    pay(other, external_id="early", amount=200_000, paid_at=datetime(2026, 11, 1, tzinfo=UTC))

    # when a new customer pays $40.00 on 10 November
    newcomer = ReferralFactory(affiliate=affiliate)
    pay(newcomer, external_id="nov", amount=4000, paid_at=NOV)

    # then October's sales (0) choose tier 1: 4000 × 50 % = 2000
    assert newcomer.payments.get().entries.get().amount == 2000


def test_starter_bonus_of_50_dollars_is_approved_only_after_60_days(referral):
    # given a first payment of $10.00 on the Starter plan (bonus $50.00, 60-day hold)
    pay(referral, external_id="p1", amount=1000, paid_at=NOV, plan="Starter")
    [bonus] = entries(kind=Kind.PLAN_BONUS)
    assert (bonus.amount, bonus.currency) == (5000, "USD")

    # when the approval job runs after 31 days, then after 60 days
    approve_due_commissions(now=NOV + timedelta(days=31))
    bonus.refresh_from_db()
    commission = CommissionEntry.objects.get(kind=Kind.FIRST_PAYMENT)
    state_after_31 = (bonus.state, commission.state)
    approve_due_commissions(now=NOV + timedelta(days=60))
    bonus.refresh_from_db()

    # then the 500-cent commission (1000 × 50 %) is approved at 31 days, the bonus at 60
    assert commission.amount == 500
    assert state_after_31 == ("pending", "approved")
    assert bonus.state == "approved"


def test_plan_bonus_is_paid_once_per_product_plan(referral):
    # given two Starter payments
    pay(referral, external_id="p1", amount=1000, paid_at=NOV, plan="Starter")
    pay(referral, external_id="p2", amount=1000, paid_at=NOV + timedelta(days=30), plan="Starter")

    # then one bonus
    assert CommissionEntry.objects.filter(kind=Kind.PLAN_BONUS).count() == 1


def test_recurring_commission_stops_after_n_months():
    # given a plan paying recurring 20 % for 2 months
    plan = PlanFactory(use_tiers=False, recurring_months=2)
    referral = ReferralFactory(affiliate=AffiliateFactory(plan=plan))

    # when the customer pays on 10 Nov, 10 Dec, 10 Jan (limit reached on 10 Jan)
    for i, month in enumerate([(2026, 11), (2026, 12), (2027, 1)]):
        pay(referral, external_id=f"p{i}", amount=4000, paid_at=datetime(*month, 10, tzinfo=UTC))

    # then 2000 (first, 50 %) and 800 (recurring, 20 %); nothing on 10 Jan
    assert [e.amount for e in entries(source_type="payment")] == [2000, 800]


def test_affiliate_override_replaces_plan_rates(default_plan):
    # given an influencer with a fixed 35 % rate
    referral = ReferralFactory(affiliate=AffiliateFactory(commission_override_bp=3500))

    # when the customer pays $40.00 twice
    pay(referral, external_id="p1", amount=4000, paid_at=NOV)
    pay(referral, external_id="p2", amount=4000, paid_at=NOV + timedelta(days=30))

    # then 4000 × 35 % = 1400 each time
    assert [e.amount for e in entries(source_type="payment")] == [1400, 1400]


def test_employee_earns_by_its_own_plan_for_twelve_months(affiliate):
    # given an employee on a flat 10 %-for-12-months plan, named at upgrade on 10 Nov
    employee_plan = PlanFactory(
        name="Employee",
        first_payment_bp=1000,
        recurring_bp=1000,
        recurring_months=12,
        use_tiers=False,
        signup_bounty=0,
    )
    employee = AffiliateFactory(plan=employee_plan, is_employee=True)
    referral = ReferralFactory(affiliate=affiliate, employee=employee, employee_at=NOV)

    # when the customer pays $40.00 before the upgrade, at it, and 12 months later
    pay(referral, external_id="before", amount=4000, paid_at=NOV - timedelta(days=30))
    pay(referral, external_id="at", amount=4000, paid_at=NOV)
    pay(referral, external_id="later", amount=4000, paid_at=datetime(2027, 11, 10, 12, tzinfo=UTC))

    # then the employee earns 4000 × 10 % = 400 only on the payment at the upgrade
    assert [e.amount for e in entries(affiliate=employee)] == [400]
    # and the affiliate still earns its own commission on all three (2000, 800, 800)
    assert [e.amount for e in entries(affiliate=affiliate)] == [2000, 800, 800]


def test_changing_a_plan_affects_only_later_payments(flat30):
    # given an entry at 30 %
    referral = ReferralFactory(affiliate=AffiliateFactory(plan=flat30))
    pay(referral, external_id="p1", amount=1000, paid_at=NOV)

    # when the plan's rate becomes 40 % and another payment arrives
    flat30.recurring_bp = 4000
    flat30.save()
    pay(referral, external_id="p2", amount=1000, paid_at=NOV + timedelta(days=30))

    # then 300 stays 300; the new payment earns 1000 × 40 % = 400
    assert [e.amount for e in entries(source_type="payment")] == [300, 400]


def test_euro_payment_is_entered_in_euros_with_its_rate(affiliate):
    # given an admin rate of 1 EUR = 1.08 USD
    from decimal import Decimal

    from commissions.services import set_exchange_rate

    set_exchange_rate(
        currency="EUR", rate=Decimal("1.08"), valid_from=datetime(2026, 1, 1, tzinfo=UTC)
    )
    referral = ReferralFactory(affiliate=affiliate)

    # when the customer pays €40.00
    payment = pay(referral, external_id="p1", amount=4000, currency="EUR", paid_at=NOV)

    # then the entry is €20.00 (50 %), the rate 1.08 is recorded, and the program amount
    # is 4000 × 1.08 = 4320 US cents
    [entry] = entries(source_type="payment")
    assert (entry.amount, entry.currency, entry.fx_rate) == (2000, "EUR", Decimal("1.08"))
    assert payment.program_amount == 4320


def test_payment_in_a_currency_without_rate_is_stored_and_waits(affiliate):
    referral = ReferralFactory(affiliate=affiliate)

    payment = pay(referral, external_id="p1", amount=4000, currency="GBP", paid_at=NOV)

    assert (payment.status, payment.fx_rate) == ("waiting_for_rate", None)
    assert not CommissionEntry.objects.exists()
