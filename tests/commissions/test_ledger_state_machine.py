"""Payments, refunds, disputes, approvals, payouts and rate changes in any order keep the
ledger's invariants (check_ledger) intact."""

import itertools
import os
from datetime import UTC, datetime, timedelta
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

from commissions.models import CommissionEntry, Payment
from commissions.selectors import ledger_violations
from commissions.services import (
    approve_due_commissions,
    move_entries,
    record_dispute,
    record_refund,
    set_exchange_rate,
)
from config.errors import Conflict
from tests.commissions.conftest import pay
from tests.factories import AffiliateFactory, PlanFactory, ReferralFactory, default_plan_with_tiers
from tests.machines import RolledBackMachine

_ids = itertools.count()


class LedgerMachine(RolledBackMachine):
    @initialize()
    def setup(self):
        self.now = datetime(2026, 11, 1, tzinfo=UTC)
        self.run = next(_ids)
        default_plan_with_tiers()
        self.flat = PlanFactory(first_payment_bp=3000, recurring_bp=3000, use_tiers=False)
        employee = AffiliateFactory(plan=self.flat, is_employee=True)
        self.referrals = [
            ReferralFactory(affiliate=AffiliateFactory()),
            ReferralFactory(affiliate=AffiliateFactory(plan=self.flat)),
            ReferralFactory(
                affiliate=AffiliateFactory(commission_override_bp=3333),
                employee=employee,
                employee_at=self.now,
            ),
        ]
        set_exchange_rate(
            currency="EUR", rate=Decimal("1.08"), valid_from=self.now - timedelta(days=400)
        )
        self.payments: list[str] = []
        self.disputes: dict[str, str] = {}

    def _tick(self, hours: int = 1):
        self.now += timedelta(hours=hours)

    @rule(
        who=st.integers(0, 2),
        amount=st.integers(1, 200_000),  # services.MIN_AMOUNT is 1
        currency=st.sampled_from(["USD", "EUR"]),
        plan=st.sampled_from(["", "Starter", "Pro"]),
    )
    def payment(self, who, amount, currency, plan):
        self._tick()
        external_id = f"sm{self.run}-p{len(self.payments)}"
        pay(
            self.referrals[who],
            external_id=external_id,
            amount=amount,
            paid_at=self.now,
            currency=currency,
            plan=plan,
            now=self.now,
        )
        self.payments.append(external_id)

    @precondition(lambda self: self.payments)
    @rule(data=st.data(), amount=st.integers(1, 250_000))
    def refund(self, data, amount):
        self._tick()
        ref = data.draw(st.sampled_from(self.payments))
        payment = Payment.objects.get(provider="api", external_id=ref)
        try:
            record_refund(
                provider="api",
                external_id=f"sm{self.run}-r{next(_ids)}",
                payment_ref=ref,
                amount=amount,
                currency="USD",
                refunded_at=self.now,
                now=self.now,
            )
        except Conflict:
            # An API refund above what is left of its payment is refused, changing nothing.
            payment.refresh_from_db()
            assert amount > payment.amount - payment.refunded_amount

    @rule(amount=st.integers(1, 5000))
    def refund_before_payment(self, amount):
        # a refund for a payment that arrives later (or never)
        self._tick()
        ref = f"sm{self.run}-p{len(self.payments)}"
        record_refund(
            provider="api",
            external_id=f"sm{self.run}-r{next(_ids)}",
            payment_ref=ref,
            amount=amount,
            currency="USD",
            refunded_at=self.now,
            now=self.now,
        )

    @precondition(lambda self: self.payments)
    @rule(data=st.data(), status=st.sampled_from(["open", "won", "lost"]))
    def dispute(self, data, status):
        self._tick()
        ref = data.draw(st.sampled_from(self.payments))
        dispute_id = self.disputes.setdefault(ref, f"sm{self.run}-d{next(_ids)}")
        record_dispute(
            provider="api",
            external_id=dispute_id,
            payment_ref=ref,
            amount=1,
            currency="USD",
            status=status,
            at=self.now,
            now=self.now,
        )

    @rule(days=st.integers(0, 70))
    def approve(self, days):
        self.now += timedelta(days=days)
        approve_due_commissions(now=self.now, batch_size=3, notify=False)

    @rule(bp=st.integers(0, 10_000))
    def change_rate(self, bp):
        self.flat.recurring_bp = bp
        self.flat.save()

    @rule(rate=st.decimals(min_value=Decimal("0.5"), max_value=Decimal("2"), places=4))
    def change_exchange_rate(self, rate):
        self._tick()
        set_exchange_rate(currency="EUR", rate=rate, valid_from=self.now)

    @rule()
    def failed_payout(self):
        # A payout that failed returns its entries to approved. (Paid payouts belong to the
        # payouts app, whose own check — "every paid entry in exactly one paid payout" —
        # check_ledger runs too, so entries are not marked paid behind its back here.)
        self._tick()
        ids = list(
            CommissionEntry.objects.filter(state="approved").values_list("pk", flat=True)[:5]
        )
        move_entries(entry_ids=ids, from_state="approved", to_state="in_payout", now=self.now)
        move_entries(entry_ids=ids, from_state="in_payout", to_state="approved", now=self.now)

    @invariant()
    def ledger_is_sound(self):
        if hasattr(self, "now"):
            assert ledger_violations(now=self.now + timedelta(days=365)) == []

    @invariant()
    def refunds_never_exceed_payments(self):
        for payment in Payment.objects.all():
            assert 0 <= payment.refunded_amount <= payment.amount


def _has_default() -> bool:
    from affiliates.models import Plan

    return Plan.objects.filter(is_default=True).exists()


@pytest.mark.django_db
def test_any_order_of_money_events_keeps_check_ledger_clean():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=int(os.environ.get("LEDGER_EXAMPLES", "20")),
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
