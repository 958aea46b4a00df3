"""ROI by month on the program dashboard and its CSV (issue 12, "ROI by month"): a seeded
program over three months, every figure computed here by hand, and the CSV's totals equal
to what the payments, the ledger and the payouts hold for the same window.

The program (USD, no signup bounty, no tiers; the clock is NOW = 3 Nov 2026 12:00 UTC; the
window asked is August … October 2026, `range=custom&from=2026-08-01&to=2026-10-31`):

alice (30 %, PayPal)                           bob (20 %, PayPal, threshold $20)
  c1: $100 on 31 Jul 23:30 (July: outside)       c4: $200 on 20 Aug
      $100 on 5 Aug, $100 on 5 Sep                   $150 on 10 Oct, refunded in full 12 Oct
      $100 on 1 Nov 00:30 (November: outside)
  c2: $200 on 20 Sep, $50 refunded 25 Sep

On 1 Oct 12:00 the hold (30 days) has ended for what was paid up to 1 Sep: a payout run pays
alice $30 (31 Jul) + $30 (5 Aug) = $60 and bob $40 (20 Aug), both marked paid that day.

By hand (minor units in brackets):
- August: revenue $100 + $200 = $300.00 (30000); commissions $30 (alice 30 % of $100) +
  $40 (bob 20 % of $200) = $70.00 (7000); payouts 0; ROI (300 − 70) / 70 = 328.57… → 328.6 %.
- September: revenue $100 + ($200 − $50) = $250.00 (25000); commissions $30 + $60 − $15
  (30 % of the $50 refunded) = $75.00 (7500); payouts 0; ROI (250 − 75) / 75 = 233.33… →
  233.3 %.
- October: revenue $150 − $150 = 0; commissions $30 − $30 = 0; payouts $60 + $40 = $100.00
  (10000); ROI "—" (no commissions).
- Total: revenue $550.00 (55000); commissions $145.00 (14500); payouts $100.00 (10000); ROI
  (550 − 145) / 145 = 279.31… → 279.3 %.
"""

import csv
import io
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.contrib.auth.models import Group

from affiliates.roles import SUPPORT
from commissions.models import CommissionEntry, Payment
from commissions.rollups import refresh_daily_money
from commissions.services import approve_due_commissions, record_refund
from dashboard.selectors.period import Period
from dashboard.selectors.roi import roi_by_month, roi_window
from payouts.models import Payout
from payouts.services.outcomes import mark_payout_paid
from payouts.services.runs import run_payouts
from tests.commissions.conftest import pay
from tests.factories import (
    AffiliateFactory,
    PayoutAccountFactory,
    PlanFactory,
    ReferralFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
WINDOW = {"range": "custom", "from": "2026-08-01", "to": "2026-10-31"}


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _refund(external_id: str, payment_ref: str, amount: int, refunded_at: datetime) -> None:
    record_refund(
        provider="api",
        external_id=external_id,
        payment_ref=payment_ref,
        amount=amount,
        currency="USD",
        refunded_at=refunded_at,
        now=refunded_at,
    )


@pytest.fixture
def program():
    flat30 = PlanFactory(
        name="Flat 30", signup_bounty=0, first_payment_bp=3000, recurring_bp=3000, use_tiers=False
    )
    flat20 = PlanFactory(
        name="Flat 20", signup_bounty=0, first_payment_bp=2000, recurring_bp=2000, use_tiers=False
    )
    alice = AffiliateFactory(username="alice", plan=flat30)
    bob = AffiliateFactory(username="bob", plan=flat20, payout_threshold=2000)
    PayoutAccountFactory(affiliate=alice)
    PayoutAccountFactory(affiliate=bob)
    c1, c2 = (ReferralFactory(affiliate=alice, created_at=at(6, 1)) for _ in range(2))
    c4 = ReferralFactory(affiliate=bob, created_at=at(6, 1))
    for referral, external_id, amount, paid_at in [
        (c1, "c1-jul", 10_000, at(7, 31, 23, 30)),
        (c1, "c1-aug", 10_000, at(8, 5)),
        (c4, "c4-aug", 20_000, at(8, 20)),
        (c1, "c1-sep", 10_000, at(9, 5)),
        (c2, "c2-sep", 20_000, at(9, 20)),
    ]:
        pay(referral, external_id=external_id, amount=amount, paid_at=paid_at)
    _refund("re-c2", "c2-sep", 5_000, at(9, 25))
    # The payout run of 1 October, then October's and November's money.
    approve_due_commissions(now=at(10, 1, 12), notify=False)
    run_payouts(now=at(10, 1, 12))
    for payout in Payout.objects.all():
        mark_payout_paid(payout_id=payout.pk, now=at(10, 1, 12))
    pay(c4, external_id="c4-oct", amount=15_000, paid_at=at(10, 10))
    _refund("re-c4", "c4-oct", 15_000, at(10, 12))
    pay(c1, external_id="c1-nov", amount=10_000, paid_at=at(11, 1, 0, 30))
    refresh_daily_money(now=NOW)
    return alice, bob


@pytest.fixture
def support_client(client):
    user = UserFactory(email="support@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name=SUPPORT))
    client.force_login(user)
    return client


def _get(client, url, query):
    with time_machine.travel(NOW, tick=False):
        return client.get(url, query)


def _csv(client, query) -> list[list[str]]:
    response = _get(client, "/dashboard/program/roi-by-month.csv", query)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_each_month_shows_its_revenue_commissions_payouts_and_roi(program):
    months, total = roi_by_month(start=date(2026, 8, 1), end=date(2026, 10, 31))

    got = [(m.month, m.revenue, m.commission, m.payouts, m.roi) for m in months]
    assert got == [
        (date(2026, 8, 1), 30_000, 7_000, 0, "328.6"),
        (date(2026, 9, 1), 25_000, 7_500, 0, "233.3"),
        (date(2026, 10, 1), 0, 0, 10_000, "—"),
    ]
    assert (total.revenue, total.commission, total.payouts, total.roi) == (
        55_000,
        14_500,
        10_000,
        "279.3",
    )


def test_the_csv_lists_the_months_and_the_total(program, support_client):
    rows = _csv(support_client, WINDOW)

    assert rows == [
        [
            "month",
            "from",
            "to",
            "referred_revenue_USD",
            "commissions_USD",
            "payouts_USD",
            "roi_percent",
        ],
        ["2026-08", "2026-08-01", "2026-08-31", "300.00", "70.00", "0.00", "328.6"],
        ["2026-09", "2026-09-01", "2026-09-30", "250.00", "75.00", "0.00", "233.3"],
        ["2026-10", "2026-10-01", "2026-10-31", "0.00", "0.00", "100.00", ""],
        ["total", "2026-08-01", "2026-10-31", "550.00", "145.00", "100.00", "279.3"],
    ]


def _ledger_totals(first: date, last: date) -> tuple[int, int, int]:
    """(revenue, commission, payouts) straight from the rows, by the ledger's day rule: a
    payment and its entries on the UTC day it was paid (no signup bounty in this program);
    payouts by the day they were paid."""
    revenue = sum(
        p.amount - p.refunded_amount
        for p in Payment.objects.all()
        if first <= p.paid_at.astimezone(UTC).date() <= last
    )
    commission = sum(
        e.amount
        for e in CommissionEntry.objects.exclude(state="declined").select_related("payment")
        if first <= e.payment.paid_at.astimezone(UTC).date() <= last
    )
    payouts = sum(
        p.amount
        for p in Payout.objects.filter(state=Payout.State.PAID)
        if first <= p.paid_at.astimezone(UTC).date() <= last
    )
    return revenue, commission, payouts


def test_the_csv_totals_equal_the_ledger_for_the_same_window(program, support_client):
    total = _csv(support_client, WINDOW)[-1]

    revenue, commission, payouts = _ledger_totals(date(2026, 8, 1), date(2026, 10, 31))
    assert (revenue, commission, payouts) == (55_000, 14_500, 10_000)
    assert total[3:6] == ["550.00", "145.00", "100.00"]


def test_the_page_shows_the_table_with_a_dash_for_a_month_without_commissions(
    program, support_client
):
    html = _get(support_client, "/dashboard/program/", WINDOW).content.decode()
    table = html.split('id="roi-by-month"', 1)[1].split("</table>", 1)[0]

    assert "USD 300.00" in table and "USD 70.00" in table and "328.6%" in table
    assert "USD 250.00" in table and "USD 75.00" in table and "233.3%" in table
    assert "USD 100.00" in table and "—" in table
    assert "USD 550.00" in table and "USD 145.00" in table and "279.3%" in table
    assert "roi-by-month.csv?range=custom&amp;from=2026-08-01&amp;to=2026-10-31" in html


def test_the_short_periods_show_the_last_12_months_up_to_today():
    today = date(2026, 11, 3)
    for key, days in (("today", 1), ("7", 7), ("30", 30), ("90", 90)):
        period = Period(
            days=days, start=date.fromordinal(today.toordinal() - days + 1), end=today, key=key
        )

        assert roi_window(period) == (date(2025, 12, 1), today), key


def test_a_custom_period_shows_its_own_months_clipped_to_its_days(program):
    period = Period(days=47, start=date(2026, 8, 15), end=date(2026, 9, 30), key="custom")

    months, total = roi_by_month(start=roi_window(period)[0], end=roi_window(period)[1])

    # 15 Aug … 31 Aug holds only bob's $200 (commission $40): ROI (200 − 40) / 40 = 400.0 %.
    assert [(m.start, m.end) for m in months] == [
        (date(2026, 8, 15), date(2026, 8, 31)),
        (date(2026, 9, 1), date(2026, 9, 30)),
    ]
    assert (months[0].revenue, months[0].commission, months[0].roi) == (20_000, 4_000, "400.0")
    assert (total.revenue, total.commission) == (45_000, 11_500)


def test_the_default_page_has_12_months(program, support_client):
    response = _get(support_client, "/dashboard/program/", {})

    months = response.context["roi_by_month"]["months"]
    assert [m.month for m in months][0] == date(2025, 12, 1)
    assert [m.month for m in months][-1] == date(2026, 11, 1)
    assert len(months) == 12
    # November so far: c1's $100 on 1 Nov, 30 % = $30: ROI (100 − 30) / 30 = 233.3 %.
    assert (months[-1].revenue, months[-1].commission, months[-1].roi) == (10_000, 3_000, "233.3")
