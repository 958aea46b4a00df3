"""Money columns of the daily rollups (tracking.DailyStat) from payments and entries."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from commissions.models import Payment
from commissions.rollups import refresh_daily_money
from commissions.services import (
    approve_due_commissions,
    record_dispute,
    record_refund,
    record_signup_commission,
    set_exchange_rate,
)
from tests.commissions.conftest import pay
from tests.factories import ReferralFactory
from tracking.models import DailyStat

pytestmark = pytest.mark.django_db


def test_refresh_writes_first_payments_revenue_and_commission_in_program_currency(affiliate):
    # given on 10 Nov a $40.00 first payment and a €10.00 first payment (1 EUR = 1.10 USD)
    set_exchange_rate(
        currency="EUR", rate=Decimal("1.10"), valid_from=datetime(2026, 1, 1, tzinfo=UTC)
    )
    day = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    pay(ReferralFactory(affiliate=affiliate), external_id="a", amount=4000, paid_at=day)
    pay(
        ReferralFactory(affiliate=affiliate),
        external_id="b",
        amount=1000,
        paid_at=day,
        currency="EUR",
    )

    # when the rollup refresh runs that evening
    rows = refresh_daily_money(now=datetime(2026, 11, 10, 23, 0, tzinfo=UTC))

    # then: 2 first payments; revenue 4000 + 1000 × 1.10 = 5100 US cents;
    # commission 2000 + €5.00 × 1.10 = 2000 + 550 = 2550 US cents
    stat = DailyStat.objects.get(affiliate=affiliate, day=day.date())
    assert rows == 1
    assert (stat.first_payments, stat.revenue, stat.commission) == (2, 5100, 2550)


def _totals(days: int, today):
    from dashboard.selectors import period_from_param, period_totals

    return period_totals(period=period_from_param(str(days), today=today))


def test_a_payment_paid_10_days_ago_and_processed_now_shows_in_the_30_day_figures(affiliate, now):
    # given a customer's $80.00 first payment paid 10 days ago that reaches us only now
    # (a billing system's late report, a webhook retried for days)
    pay(
        ReferralFactory(affiliate=affiliate),
        external_id="late",
        amount=8000,
        paid_at=now - timedelta(days=10),
        now=now,
    )

    # when the sweeper refreshes the rollups
    refresh_daily_money(now=now)

    # then the 30-day figures hold it: revenue 8000, commission 50 % × 8000 = 4000, on the
    # day it was paid; the 7-day figures do not (paid 10 days ago)
    thirty = _totals(30, now.date())
    assert (thirty["first_payments"], thirty["revenue"], thirty["commission"]) == (1, 8000, 4000)
    assert _totals(7, now.date())["revenue"] == 0


def test_refunding_a_40_day_old_payment_lowers_the_90_day_figures(affiliate, now):
    # given a $100.00 first payment paid and processed 40 days ago, its 5000 commission
    # approved after the 30-day hold, and the rollups refreshed back then
    paid_at = now - timedelta(days=40)
    payment = pay(
        ReferralFactory(affiliate=affiliate), external_id="old", amount=10_000, paid_at=paid_at
    )
    approve_due_commissions(now=paid_at + timedelta(days=30), notify=False)
    refresh_daily_money(now=paid_at)
    before = _totals(90, now.date())
    assert (before["revenue"], before["commission"]) == (10_000, 5000)

    # when $40.00 of it is refunded today
    record_refund(
        provider="api",
        external_id="re_old",
        payment_ref=payment.external_id,
        amount=4000,
        currency="USD",
        refunded_at=now,
        now=now,
    )
    refresh_daily_money(now=now)

    # then the 90-day figures drop on the payment's day: revenue 10000 − 4000 = 6000;
    # commission 5000 + clawback (50 % × 6000 − 50 % × 10000 = −2000) = 3000
    after = _totals(90, now.date())
    assert (after["revenue"], after["commission"]) == (6000, 3000)
    assert DailyStat.objects.get(affiliate=affiliate, day=paid_at.date()).revenue == 6000


def test_a_lost_dispute_on_an_old_pending_payment_empties_its_day(affiliate, now):
    # given a $50.00 payment paid 20 days ago, its 2500 commission still pending
    paid_at = now - timedelta(days=20)
    payment = pay(
        ReferralFactory(affiliate=affiliate), external_id="dis", amount=5000, paid_at=paid_at
    )
    refresh_daily_money(now=paid_at)

    # when the customer's chargeback is lost today
    record_dispute(
        provider="api",
        external_id="dp_1",
        payment_ref=payment.external_id,
        amount=5000,
        currency="USD",
        status="lost",
        at=now,
        now=now,
    )
    refresh_daily_money(now=now)

    # then revenue 5000 − 5000 = 0 and the declined 2500 no longer counts: 0; one first
    # payment is still a first payment made that day
    stat = DailyStat.objects.get(affiliate=affiliate, day=paid_at.date())
    assert (stat.first_payments, stat.revenue, stat.commission) == (1, 0, 0)


def test_the_daily_approval_jobs_declines_reach_the_rollup(affiliate, now):
    # given a $60.00 payment 35 days ago whose 3000 commission is pending, and its payment
    # fully refunded behind the ledger's back (the approval job's safety net)
    paid_at = now - timedelta(days=35)
    payment = pay(
        ReferralFactory(affiliate=affiliate), external_id="net", amount=6000, paid_at=paid_at
    )
    refresh_daily_money(now=paid_at)
    Payment.objects.filter(pk=payment.pk).update(refunded_amount=6000)

    # when the approval job declines it and the sweeper runs
    result = approve_due_commissions(now=now, notify=False)
    refresh_daily_money(now=now)

    # then the day's commission is 0 (the declined 3000 is gone)
    assert result.declined == 1
    assert DailyStat.objects.get(affiliate=affiliate, day=paid_at.date()).commission == 0


def test_signup_bounties_count_on_the_signup_day(affiliate, now):
    # given a customer who signed up 3 days ago, whose bounty task ran only today
    referral = ReferralFactory(affiliate=affiliate, created_at=now - timedelta(days=3))
    record_signup_commission(referral_id=referral.pk, now=now)

    refresh_daily_money(now=now)

    # then the plan's 25 cents are the commission of the signup's day
    stat = DailyStat.objects.get(affiliate=affiliate, day=(now - timedelta(days=3)).date())
    assert (stat.revenue, stat.commission) == (0, 25)


def test_a_refresh_clears_the_marks_it_recomputed_and_a_second_one_writes_nothing(affiliate, now):
    from tracking.models import DailyStatMoneyDue

    pay(ReferralFactory(affiliate=affiliate), external_id="m1", amount=1000, paid_at=now)
    assert DailyStatMoneyDue.objects.exists()

    assert refresh_daily_money(now=now) == 1
    assert not DailyStatMoneyDue.objects.exists()
    assert refresh_daily_money(now=now) == 0


def test_the_upgrade_marks_every_past_money_day_for_a_rebuild(affiliate, now):
    import importlib

    from django.apps import apps

    from tracking.models import DailyStatMoneyDue

    # given a $100.00 payment 60 days ago whose day an older release never rolled up
    paid_at = now - timedelta(days=60)
    pay(ReferralFactory(affiliate=affiliate), external_id="past", amount=10_000, paid_at=paid_at)
    DailyStatMoneyDue.objects.all().delete()

    # when the upgrade's data migration runs, then the sweeper
    migration = importlib.import_module("commissions.migrations.0005_rebuild_money_rollups")
    migration.mark_every_money_day(apps, None)
    refresh_daily_money(now=now)

    # then that day holds revenue 10000 and commission 50 % × 10000 = 5000
    stat = DailyStat.objects.get(affiliate=affiliate, day=paid_at.date())
    assert (stat.revenue, stat.commission) == (10_000, 5000)
