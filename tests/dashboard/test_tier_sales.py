"""The overview's tier progress reads the sales counter (tracking.MonthlySalesStat through
dashboard.selectors.sales), and in any order of payments, missing and then entered exchange
rates, refunds, an employee named and a customer moved by an accepted claim, with or
without the sweeper having run, it equals what the tiers themselves sum
(commissions.rules.previous_month_sales), for every earner and month; after a sweep the
counter equals a rebuild from nothing."""

from __future__ import annotations

import itertools
import os
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from commissions import rules
from commissions.models import Payment
from commissions.referral_stats import backfill, refresh_referral_stats
from commissions.services import process_waiting_payments, record_refund, set_exchange_rate
from dashboard.selectors import overview
from dashboard.selectors.sales import monthly_sales
from tests.commissions.conftest import pay
from tests.factories import AffiliateFactory, ReferralFactory, default_plan_with_tiers
from tests.machines import RolledBackMachine
from tracking.models import MonthlySalesStat, Referral, ReferralStatDue
from tracking.services import accept_claim, claim_customer, name_employee

pytestmark = pytest.mark.django_db

MONTHS = [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
_ids = itertools.count()


def tier_sales(affiliate_id: int, month: date) -> int:
    """What the tiers sum for the month: rules' sales of the month before the next one's."""
    next_month = rules.add_months(datetime.combine(month, time(), tzinfo=UTC), 1)
    return rules.previous_month_sales(affiliate_id=affiliate_id, moment=next_month)


def counter() -> set[tuple[int, date, int]]:
    return set(MonthlySalesStat.objects.values_list("affiliate_id", "month", "sales"))


class SalesMachine(RolledBackMachine):
    @initialize()
    def setup(self):
        self.run = next(_ids)
        default_plan_with_tiers()
        self.alice, self.bob = AffiliateFactory(), AffiliateFactory()
        self.employee = AffiliateFactory(is_employee=True)
        self.referrals = [
            ReferralFactory(affiliate=self.alice),
            ReferralFactory(affiliate=self.bob),
            ReferralFactory(affiliate=self.alice),
        ]
        self.payments: list[str] = []
        self.rate_set = False

    @rule(
        who=st.integers(0, 2),
        month=st.integers(0, 3),
        day=st.integers(1, 28),
        amount=st.integers(1, 90_000),
        currency=st.sampled_from(["USD", "EUR"]),
    )
    def a_payment(self, who, month, day, amount, currency):
        # A EUR payment before any rate is stored with program_amount None (counts 0).
        external_id = f"p{self.run}-{next(_ids)}"
        paid_at = datetime.combine(MONTHS[month].replace(day=day), time(12), tzinfo=UTC)
        pay(
            self.referrals[who],
            external_id=external_id,
            amount=amount,
            currency=currency,
            paid_at=paid_at,
        )
        self.payments.append(external_id)

    @precondition(lambda self: not self.rate_set)
    @rule()
    def the_euro_rate_arrives(self):
        set_exchange_rate(
            currency="EUR", rate=Decimal("1.08"), valid_from=datetime(2026, 1, 1, tzinfo=UTC)
        )
        process_waiting_payments(now=datetime(2026, 12, 1, tzinfo=UTC), currency="EUR")
        self.rate_set = True

    @precondition(lambda self: self.payments)
    @rule(data=st.data(), share=st.sampled_from([1, 2]))
    def a_refund(self, data, share):
        # In full or half, once per payment; sales are before refunds, so nothing moves.
        ref = data.draw(st.sampled_from(self.payments))
        self.payments.remove(ref)
        payment = Payment.objects.get(external_id=ref)
        record_refund(
            provider="api",
            external_id=f"re-{ref}-{share}",
            payment_ref=ref,
            amount=max(payment.amount // share, 1),
            currency=payment.currency,
            refunded_at=datetime(2026, 12, 1, tzinfo=UTC),
            now=datetime(2026, 12, 1, tzinfo=UTC),
        )

    @rule(who=st.integers(0, 2))
    def an_employee_named(self, who):
        name_employee(
            customer_id=self.referrals[who].customer_id,
            employee=self.employee.username,
            now=datetime(2026, 10, 15, tzinfo=UTC),
        )

    @rule(who=st.integers(0, 2))
    def a_claim_accepted(self, who):
        referral = Referral.objects.get(pk=self.referrals[who].pk)
        claimant = self.bob if referral.affiliate_id == self.alice.pk else self.alice
        claim = claim_customer(
            customer_id=referral.customer_id,
            referred_by=claimant.username,
            now=datetime(2026, 11, 20, tzinfo=UTC),
        ).claim
        accept_claim(claim_id=claim.pk, actor=None, now=datetime(2026, 11, 20, tzinfo=UTC))

    @rule()
    def the_sweeper_runs(self):
        refresh_referral_stats(now=datetime(2026, 12, 1, tzinfo=UTC))
        assert not ReferralStatDue.objects.exists()
        # Share by share, the counter is what a rebuild from nothing gives.
        kept = counter()
        MonthlySalesStat.objects.all().delete()
        Referral.objects.update(stat_kept=None)
        backfill(now=datetime(2026, 12, 1, tzinfo=UTC))
        assert counter() == kept

    @invariant()
    def the_counter_equals_the_tiers_sum(self):
        if not hasattr(self, "alice"):
            return
        for earner in (self.alice, self.bob, self.employee):
            assert monthly_sales(affiliate_id=earner.pk, months=MONTHS) == {
                month: tier_sales(earner.pk, month) for month in MONTHS
            }


def test_the_sales_counter_equals_the_tiers_sum_in_any_order_of_writes():
    run_state_machine_as_test(
        SalesMachine,
        settings=settings(
            max_examples=int(os.environ.get("SALES_EXAMPLES", "15")),
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_the_overview_plan_reads_both_months_from_the_counter(alice):
    # given the default tiers (0 / 50000 / 100001 cents) and alice's payments: $450.00 on
    # 20 Oct and $80.00 on 2 Nov from one customer, $30.00 on 3 Nov from another, swept
    default_plan_with_tiers()
    customer, other = ReferralFactory(affiliate=alice), ReferralFactory(affiliate=alice)
    pay(customer, external_id="oct", amount=45_000, paid_at=datetime(2026, 10, 20, tzinfo=UTC))
    pay(customer, external_id="nov", amount=8_000, paid_at=datetime(2026, 11, 2, tzinfo=UTC))
    pay(other, external_id="nov-2", amount=3_000, paid_at=datetime(2026, 11, 3, tzinfo=UTC))
    refresh_referral_stats(now=datetime(2026, 11, 4, tzinfo=UTC))
    assert not ReferralStatDue.objects.exists()
    assert MonthlySalesStat.objects.filter(affiliate=alice).count() == 2

    plan = overview.plan_summary(affiliate=alice, now=datetime(2026, 11, 10, tzinfo=UTC))

    # then October's 45000 cents < 50000 keep tier 1 (50 % / 20 %); November so far is
    # 8000 + 3000 = 11000 cents, 50000 − 11000 = 39000 cents short of tier 2
    assert (plan.last_month, plan.last_month_sales, plan.this_month_sales) == (
        date(2026, 10, 1),
        45_000,
        11_000,
    )
    assert (plan.tier.number, plan.next_tier.number, plan.left_to_next_tier) == (1, 2, 39_000)
    assert (plan.first_payment_bp, plan.recurring_bp) == (5000, 2000)
