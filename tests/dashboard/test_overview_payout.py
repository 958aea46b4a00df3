"""The overview's next payout: the run's date from the beat schedule, the expected amount by
the run's rules (approved balance, plus pending that clears its hold by the last approval
job before the run, at or over the threshold), or exactly what is missing."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from affiliates.models import Affiliate
from commissions.models import CommissionEntry
from dashboard.selectors.overview import approval_cutoff, next_payout_run, payout_forecast
from tests.factories import AffiliateFactory, CommissionEntryFactory, PayoutAccountFactory

pytestmark = pytest.mark.django_db

State = CommissionEntry.State
NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)
# config/celery.py: monthly run on the 1st at 13:07 UTC, two-weekly also on the 15th;
# approvals daily at 18:07 UTC.
DECEMBER_RUN = datetime(2026, 12, 1, 13, 7, tzinfo=UTC)
LAST_APPROVAL = datetime(2026, 11, 30, 18, 7, tzinfo=UTC)


def test_the_next_run_follows_the_beat_schedule_per_payout_frequency():
    monthly = AffiliateFactory()
    two_weekly = AffiliateFactory(payout_frequency=Affiliate.Frequency.TWO_WEEKLY)

    assert next_payout_run(affiliate=monthly, now=NOW) == DECEMBER_RUN
    assert next_payout_run(affiliate=two_weekly, now=NOW) == datetime(
        2026, 11, 15, 13, 7, tzinfo=UTC
    )
    # On the 1st before 13:07 the run is that day; a minute after, next month.
    first = datetime(2026, 12, 1, 13, 6, tzinfo=UTC)
    assert next_payout_run(affiliate=monthly, now=first) == DECEMBER_RUN
    assert next_payout_run(affiliate=monthly, now=DECEMBER_RUN) == datetime(
        2027, 1, 1, 13, 7, tzinfo=UTC
    )
    assert approval_cutoff(before=DECEMBER_RUN) == LAST_APPROVAL


def _entries(affiliate):
    # approved USD 30.00; pending USD 25.00 that clears at 18:00 on 30 Nov (before the
    # 18:07 job); pending USD 9.00 clearing at midnight on 1 Dec (after that job: next run)
    CommissionEntryFactory(affiliate=affiliate, amount=3000, state=State.APPROVED)
    CommissionEntryFactory(
        affiliate=affiliate, amount=2500, approve_after=LAST_APPROVAL - timedelta(minutes=7)
    )
    CommissionEntryFactory(
        affiliate=affiliate, amount=900, approve_after=datetime(2026, 12, 1, tzinfo=UTC)
    )


def test_the_expected_amount_is_what_the_run_will_find_approved():
    alice = AffiliateFactory(payout_threshold=5000)
    PayoutAccountFactory(affiliate=alice)
    _entries(alice)
    CommissionEntryFactory(affiliate=alice, amount=1500, state=State.IN_PAYOUT)

    forecast = payout_forecast(affiliate=alice, now=NOW)

    # 3000 + 2500 = 5500 ≥ 5000: paid by PayPal on 1 Dec; 1500 already on its way.
    assert forecast.run_at == DECEMBER_RUN
    (usd,) = forecast.currencies
    assert (usd.approved, usd.clearing, usd.expected, usd.in_payout) == (3000, 2500, 5500, 1500)
    assert usd.reaches_threshold and usd.short_by == 0
    assert not forecast.needs_method and forecast.hold == ""
    assert forecast.will_pay == [usd]


def test_below_the_threshold_it_says_how_much_is_missing_per_currency():
    alice = AffiliateFactory(payout_threshold=5000)
    PayoutAccountFactory(affiliate=alice)
    CommissionEntryFactory(affiliate=alice, amount=1000, state=State.APPROVED)
    CommissionEntryFactory(affiliate=alice, amount=7000, state=State.APPROVED, currency="EUR")

    forecast = payout_forecast(affiliate=alice, now=NOW)

    eur, usd = forecast.currencies
    # EUR 70.00 reaches the 5000 threshold; USD 10.00 is 4000 short.
    assert eur.reaches_threshold
    assert not usd.reaches_threshold and usd.short_by == 4000
    assert forecast.will_pay == [eur]


def test_without_a_payout_method_nothing_is_paid_and_it_says_so(client):
    alice = AffiliateFactory(payout_threshold=5000)
    _entries(alice)
    client.force_login(alice.user)

    with time_machine.travel(NOW, tick=False):
        html = client.get("/dashboard/").content.decode()
    forecast = payout_forecast(affiliate=alice, now=NOW)

    assert forecast.needs_method and forecast.will_pay == []
    assert 'id="payout-missing-method"' in html
    assert "The next payout run is on Dec. 1, 2026 (UTC)." in html
    # 3000 + 2500 = 5500 expected
    assert "Expected: USD 55.00 (USD 30.00 approved and USD 25.00" in html
    assert "It is paid once the above is resolved." in html


def test_an_admin_hold_is_named():
    alice = AffiliateFactory()
    PayoutAccountFactory(affiliate=alice, on_hold=True, hold_reason="tax form missing")

    forecast = payout_forecast(affiliate=alice, now=NOW)

    assert forecast.hold == "held by admin: tax form missing"


def test_a_details_change_hold_that_ends_before_the_run_does_not_count():
    # Changed an hour ago: held 48 h, until 4 Nov, long before the 1 Dec run.
    alice = AffiliateFactory()
    PayoutAccountFactory(affiliate=alice, details_changed_at=NOW - timedelta(hours=1))

    assert payout_forecast(affiliate=alice, now=NOW).hold == ""


def test_the_page_says_how_far_below_the_threshold(client):
    alice = AffiliateFactory(payout_threshold=5000)
    PayoutAccountFactory(affiliate=alice)
    CommissionEntryFactory(affiliate=alice, amount=1000, state=State.APPROVED)
    client.force_login(alice.user)

    with time_machine.travel(NOW, tick=False):
        html = client.get("/dashboard/").content.decode()

    assert (
        "Expected: USD 10.00, which is USD 40.00 short of your USD 50.00 payout threshold" in html
    )
    assert 'id="payout-missing-method"' not in html and 'id="payout-hold"' not in html
