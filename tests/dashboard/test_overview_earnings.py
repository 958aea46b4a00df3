"""The overview's earnings: from the ledger, per currency and state, for the chosen period,
counted on the day the money was earned, and equal to the balances over all time."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from commissions.models import CommissionEntry
from commissions.selectors import balances_for
from dashboard.selectors import Period
from dashboard.selectors.overview import period_earnings
from tests.commissions.conftest import pay
from tests.factories import AffiliateFactory, CommissionEntryFactory, ReferralFactory

pytestmark = pytest.mark.django_db

State = CommissionEntry.State
END = date(2026, 11, 30)
NOVEMBER = Period(days=30, start=date(2026, 11, 1), end=END, key="30")


def _at(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def _entry(affiliate, day, amount, **fields):
    return CommissionEntryFactory(
        affiliate=affiliate, amount=amount, created_at=_at(day), approve_after=_at(day), **fields
    )


def test_the_period_is_summed_per_currency_and_state_without_declined_entries():
    alice = AffiliateFactory()
    _entry(alice, date(2026, 11, 3), 1000, state=State.PENDING)
    _entry(alice, date(2026, 11, 3), 2500, state=State.APPROVED)
    _entry(alice, date(2026, 11, 30), 4000, state=State.PAID)
    _entry(alice, date(2026, 11, 1), 500, currency="EUR")
    _entry(alice, date(2026, 11, 5), 9999, state=State.DECLINED)  # counts nowhere
    _entry(alice, date(2026, 10, 31), 7000, state=State.PAID)  # the day before the period
    _entry(AffiliateFactory(), date(2026, 11, 3), 123_400)  # another affiliate's

    earnings = period_earnings(period=NOVEMBER, affiliate_id=alice.pk)

    # EUR: 500 pending. USD: 1000 pending, 2500 approved, 4000 paid → 7500.
    eur, usd = earnings
    assert (eur.currency, eur.pending, eur.approved, eur.paid, eur.total) == ("EUR", 500, 0, 0, 500)
    assert (usd.currency, usd.pending, usd.approved, usd.in_payout, usd.paid) == (
        "USD",
        1000,
        2500,
        0,
        4000,
    )
    assert usd.total == 7500
    # Per day: 1 Nov is index 0, 3 Nov index 2 (1000 + 2500), 30 Nov index 29.
    assert usd.daily[2] == 3500 and usd.daily[29] == 4000
    assert sum(usd.daily) == 7500
    assert eur.daily[0] == 500


def test_a_payment_reported_late_counts_on_the_day_the_customer_paid():
    # Given a $100.00 first payment paid on 15 Oct and reported only on 20 Nov:
    # 50% of it (tier 1 of the default plan) = 5000 cents, written on 20 Nov.
    alice = AffiliateFactory()
    customer = ReferralFactory(affiliate=alice, created_at=datetime(2026, 10, 1, tzinfo=UTC))
    pay(
        customer,
        external_id="late-1",
        amount=10_000,
        paid_at=datetime(2026, 10, 15, 9, tzinfo=UTC),
        now=datetime(2026, 11, 20, 9, tzinfo=UTC),
    )
    october = Period(days=31, start=date(2026, 10, 1), end=date(2026, 10, 31), key="custom")

    in_november = period_earnings(period=NOVEMBER, affiliate_id=alice.pk)
    in_october = period_earnings(period=october, affiliate_id=alice.pk)

    assert in_november == []
    assert [(e.currency, e.pending) for e in in_october] == [("USD", 5000)]
    assert in_october[0].daily[14] == 5000  # 15 Oct


def test_a_signup_bounty_counts_on_the_signup_day():
    # Given a signup on 20 Oct whose $0.25 bounty was written on 3 Nov
    alice = AffiliateFactory()
    customer = ReferralFactory(affiliate=alice, created_at=_at(date(2026, 10, 20)))
    _entry(
        alice,
        date(2026, 11, 3),
        25,
        kind=CommissionEntry.Kind.SIGNUP,
        source_type=CommissionEntry.SourceType.SIGNUP,
        source_id=str(customer.pk),
    )
    october = Period(days=31, start=date(2026, 10, 1), end=date(2026, 10, 31), key="custom")

    assert period_earnings(period=NOVEMBER, affiliate_id=alice.pk) == []
    assert [e.total for e in period_earnings(period=october, affiliate_id=alice.pk)] == [25]


def test_all_time_equals_the_balances_even_for_entries_before_the_first_rollup_day():
    alice = AffiliateFactory()
    _entry(alice, date(2026, 6, 1), 300, state=State.PAID)  # before the period's first day
    _entry(alice, date(2026, 11, 2), 1200, state=State.APPROVED)
    _entry(alice, date(2026, 11, 2), 800, currency="EUR")
    all_time = Period(days=30, start=date(2026, 11, 1), end=END, key="all")

    earnings = period_earnings(period=all_time, affiliate_id=alice.pk)

    balances = balances_for(affiliate_id=alice.pk)
    for e in earnings:
        per = balances[e.currency]
        assert (e.pending, e.approved, e.in_payout, e.paid) == (
            per["pending"],
            per["approved"],
            per["in_payout"],
            per["paid"],
        )
    usd = earnings[1]
    assert usd.daily[0] == 300  # the early entry is drawn on the first day
    assert usd.total == 1500


def test_the_page_shows_the_ledger_figures_for_the_period(client):
    # Given, today and 3 days ago, USD 10.00 pending + USD 25.00 approved, and EUR 5.00
    alice = AffiliateFactory()
    today = datetime.now(UTC).date()
    _entry(alice, today, 1000)
    _entry(alice, today - timedelta(days=3), 2500, state=State.APPROVED)
    _entry(alice, today, 500, currency="EUR")
    # and USD 70.00 paid 40 days ago (outside the last 30 days)
    _entry(alice, today - timedelta(days=40), 7000, state=State.PAID)
    client.force_login(alice.user)

    html = client.get("/dashboard/").content.decode()

    # Two currencies: per-currency tiles beside the converted total.
    assert '<dd id="earned-usd">USD 35.00</dd>' in html  # 1000 + 2500
    assert '<dd id="earned-eur">EUR 5.00</dd>' in html
    assert (
        '<tr><th>USD</th><td class="num">USD 10.00</td><td class="num">USD 25.00</td>'
        '<td class="num">USD 0.00</td><td class="num">USD 0.00</td>'
        '<td class="num"><strong>USD 35.00</strong></td></tr>'
    ) in html
    # The balances still count the paid USD 70.00.
    assert '<td class="num">USD 70.00</td></tr>' in html


def test_with_nothing_earned_the_page_says_what_to_do(client):
    alice = AffiliateFactory()
    client.force_login(alice.user)

    html = client.get("/dashboard/").content.decode()

    assert '<dd id="total-commission">USD 0.00</dd>' in html
    assert 'id="no-earnings"' in html
    assert 'href="/dashboard/links/"' in html
