"""The program dashboard on a seeded program: every tile and every CSV total equals the
ledger's figure, computed here by hand.

The program (flat 30 % plan, no signup bounty, USD; the clock is NOW = 2 Nov 2026 12:00 UTC,
so "last 30 days" is 4 Oct … 2 Nov and "last 90 days" is 5 Aug … 2 Nov):

alice (PayPal, confirmed)                      bob (no payout method)
  c1: $100 on 1 May, 5 Aug, 1 Nov                c4: $80 on 10 Oct, refunded in full 12 Oct
  c2: $50 on 1 Jul                               c5: $100 on 1 Sep 2025 and 5 Sep 2026
  c3: $200 on 20 Oct, $50 refunded 25 Oct
  clicks: 20 Oct 100 (80 unique, 4 signups),     clicks: 10 Oct 50 (40 unique, 2 signups)
          1 Nov 20 (20 unique, 1 signup)
carol has applied (waiting).

Every payment is processed when paid; then the hold (30 days) ends for what was paid up to
3 Oct, a payout run pays alice's approved balance (bob's is held: no method) and alice's
payout is marked paid, all at NOW.
"""

import csv
import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth.models import Group

from affiliates.models import Affiliate
from affiliates.roles import PROGRAM_MANAGER
from commissions.models import CommissionEntry as E
from commissions.rollups import refresh_daily_money
from commissions.services import approve_due_commissions, record_dispute, record_refund
from dashboard.selectors.period import Period
from dashboard.selectors.program import commission_states
from payouts.models import Payout
from payouts.services.outcomes import mark_payout_paid
from payouts.services.runs import run_payouts
from tests.commissions.conftest import pay
from tests.dashboard.conftest import daily
from tests.factories import (
    AffiliateFactory,
    CommissionEntryFactory,
    PayoutAccountFactory,
    PlanFactory,
    ReferralFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 9, 0, tzinfo=UTC)


@pytest.fixture
def program():
    plan = PlanFactory(
        name="Flat 30", signup_bounty=0, first_payment_bp=3000, recurring_bp=3000, use_tiers=False
    )
    alice = AffiliateFactory(username="alice", plan=plan)
    bob = AffiliateFactory(username="bob", plan=plan)
    AffiliateFactory(username="carol", status=Affiliate.Status.APPLIED)
    PayoutAccountFactory(affiliate=alice)
    # Clicks first: the money refresh then fills the same rows' money columns.
    daily(alice, at(10, 20).date(), clicks=100, unique_clicks=80, signups=4)
    daily(alice, at(11, 1).date(), clicks=20, unique_clicks=20, signups=1)
    daily(bob, at(10, 10).date(), clicks=50, unique_clicks=40, signups=2)
    c1, c2, c3 = (ReferralFactory(affiliate=alice, created_at=at(4, 1)) for _ in range(3))
    c4, c5 = (ReferralFactory(affiliate=bob, created_at=at(8, 1, 2025)) for _ in range(2))
    payments = [
        (c1, "c1-may", 10_000, at(5, 1)),
        (c1, "c1-aug", 10_000, at(8, 5)),
        (c1, "c1-nov", 10_000, at(11, 1)),
        (c2, "c2-jul", 5_000, at(7, 1)),
        (c3, "c3-oct", 20_000, at(10, 20)),
        (c4, "c4-oct", 8_000, at(10, 10)),
        (c5, "c5-2025", 10_000, at(9, 1, 2025)),
        (c5, "c5-2026", 10_000, at(9, 5)),
    ]
    for referral, external_id, amount, paid_at in payments:
        pay(referral, external_id=external_id, amount=amount, paid_at=paid_at)
    for external_id, ref, amount, refunded_at in (
        ("re-c3", "c3-oct", 5_000, at(10, 25)),
        ("re-c4", "c4-oct", 8_000, at(10, 12)),
    ):
        record_refund(
            provider="api",
            external_id=external_id,
            payment_ref=ref,
            amount=amount,
            currency="USD",
            refunded_at=refunded_at,
            now=refunded_at,
        )
    approve_due_commissions(now=NOW, notify=False)
    run_payouts(now=NOW)
    mark_payout_paid(payout_id=Payout.objects.get(affiliate=alice).pk, now=NOW)
    refresh_daily_money(now=NOW)
    return alice, bob


@pytest.fixture
def manager_client(client):
    user = UserFactory(email="manager@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name=PROGRAM_MANAGER))
    client.force_login(user)
    return client


def _get(client, url, **query):
    with time_machine.travel(NOW, tick=False):
        return client.get(url, query)


def _csv(client, table, **query) -> list[list[str]]:
    response = _get(client, f"/dashboard/program/{table}.csv", **query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_every_tile_of_the_last_30_days_equals_the_ledger(program, manager_client):
    page = _get(manager_client, "/dashboard/program/", range="30")
    html = page.content.decode()

    # Rollups, 4 Oct … 2 Nov: clicks 100 + 20 + 50 = 170, unique 80 + 20 + 40 = 140,
    # signups 4 + 1 + 2 = 7; new paying customers: c3 (20 Oct) and c4 (10 Oct) = 2.
    # Revenue: c1 1 Nov $100 + c3 $200 − $50 refunded + c4 $80 − $80 = $250.00.
    # Commission at 30 %: c1 $30 + c3 ($60 − $15 clawed back) + c4 ($24 − $24) = $75.00.
    assert page.context["totals"] == {
        "clicks": 170,
        "unique_clicks": 140,
        "signups": 7,
        "first_payments": 2,
        "revenue": 25_000,
        "commission": 7_500,
    }
    tiles = {
        "clicks": "170",
        "signups": "7",
        # 7 / 140 = 5.0 %
        "conversion": "5.0%",
        # c1 and c3 paid in the period; c4 was refunded in full.
        "paying-customers": "2",
        "first-payments": "2",
        "revenue": "USD 250.00",
        "commission": "USD 75.00",
        # (25000 − 7500) / 7500 = 2.3333… → 233.3 %
        "roi": "233.3%",
        # 7500 / 2 new paying customers = 3750 → $37.50
        "cac": "USD 37.50",
        # 7500 / 170 clicks = 44.1 → 44 cents
        "epc": "USD 0.44",
        # Every entry of the period's payments is still in its 30-day hold: pending
        # $30 + $60 − $15 + $24 − $24 = $75.00 (the clawbacks are of pending entries).
        "pending": "USD 75.00",
        "approved": "USD 0.00",
        "in-payout": "USD 0.00",
        # alice's payout, paid at NOW: c1 May $30 + c1 Aug $30 + c2 $15 = $75.00
        "paid": "USD 0.00",
        "sent": "USD 75.00",
        # bob's approved balance, held (no method): c5 2025 $30 + c5 2026 $30 = $60.00
        "owed": "USD 60.00",
    }
    for tile, shown in tiles.items():
        assert f'id="total-{tile}"' in html, tile
        assert _tile(html, tile) == shown, tile
    assert _between(html, 'id="applications-count"', "<") == "1"


def _between(html: str, marker: str, end: str) -> str:
    tail = html.split(marker, 1)[1]
    return tail.split(">", 1)[1].split(end, 1)[0]


def _tile(html: str, tile: str) -> str:
    return _between(html, f'<dd id="total-{tile}"', "</dd>")


def test_the_90_day_tiles_split_the_ledger_by_state(program, manager_client):
    page = _get(manager_client, "/dashboard/program/", range="90")
    html = page.content.decode()

    # 5 Aug … 2 Nov adds c1 5 Aug ($30, approved then paid to alice) and c5 5 Sep ($30,
    # approved, held for bob): pending $75.00, approved $30.00, paid $30.00,
    # commission 7500 + 3000 + 3000 = $135.00; revenue 25000 + 10000 + 10000 = $450.00.
    assert page.context["totals"]["revenue"] == 45_000
    assert page.context["totals"]["commission"] == 13_500
    assert _tile(html, "pending") == "USD 75.00"
    assert _tile(html, "approved") == "USD 30.00"
    assert _tile(html, "paid") == "USD 30.00"
    # pending + approved + in payout + paid = the commission tile
    assert 7_500 + 3_000 + 0 + 3_000 == page.context["totals"]["commission"]
    # ROI (45000 − 13500) / 13500 = 2.3333… → 233.3 %; paying customers c1, c3, c5 = 3
    assert _tile(html, "roi") == "233.3%"
    assert _tile(html, "paying-customers") == "3"


def test_the_affiliate_table_gives_conversion_epc_ltv_and_retention(program, manager_client):
    page = _get(manager_client, "/dashboard/program/", range="30")
    rows = {r.username: r for r in page.context["affiliate_rows"]}
    alice, bob = rows["alice"], rows["bob"]

    # alice, 30 days: 120 clicks, 100 unique, 5 signups → 5.0 %; commission $30 + $45 = $75
    # → EPC 7500 / 120 = 62.5 → 63 cents (half away from zero).
    assert (alice.clicks, alice.unique_clicks, alice.signups) == (120, 100, 5)
    assert alice.conversion == "5.0"
    assert alice.commission == 7_500 and alice.epc == 63
    # Lifetime: c1, c2, c3 paying; revenue 3 × $100 + $50 + $150 = $500 → LTV $166.67.
    assert alice.lifetime_customers == 3
    assert alice.lifetime_revenue == 50_000
    assert alice.ltv == 16_667
    # Retention: c1 first 1 May (185 days before NOW), last 1 Nov (184 days later);
    # c2 first 1 Jul (124 days), no later payment; c3 first 20 Oct (13 days): too young.
    # 3 months: c1 and c2 old enough, c1 still paying → 1 / 2 = 50.0 %.
    # 6 months: c1 only (185 ≥ 180), still paying (184 ≥ 173) → 100.0 %. 12 months: none.
    assert alice.retained(3) == "50.0"
    assert alice.retained(6) == "100.0"
    assert alice.retained(12) == "—"
    # bob: c4 refunded in full is no paying customer; c5 1 Sep 2025 → 5 Sep 2026 (369 days
    # ≥ 358): still paying at 3, 6 and 12 months. Lifetime revenue $0 + $200 → LTV $200.
    assert bob.lifetime_customers == 1 and bob.ltv == 20_000
    assert [bob.retained(m) for m in (3, 6, 12)] == ["100.0", "100.0", "100.0"]
    # 30 days: bob 50 clicks, commission $24 − $24 = 0 → EPC 0
    assert bob.epc == 0

    program_row = page.context["program_row"]
    # Program: 3 months 2 of 3 (c1, c5 of c1, c2, c5) = 66.7 %; 6 months 2 / 2; 12: 1 / 1.
    assert [program_row.retained(m) for m in (3, 6, 12)] == ["66.7", "100.0", "100.0"]
    # Program LTV: $500 + $200 over 4 customers = $175.00
    assert program_row.ltv == 17_500


def test_the_csv_exports_carry_the_same_figures_and_totals(program, manager_client):
    summary = dict((row[0], row[1]) for row in _csv(manager_client, "summary", range="30")[1:])
    trend = _csv(manager_client, "trend", range="30")
    affiliates = _csv(manager_client, "affiliates", range="30")
    commissions = _csv(manager_client, "commissions", range="90")
    payouts = _csv(manager_client, "payouts", range="30")

    assert summary["referred_revenue"] == "250.00"
    assert summary["commission"] == "75.00"
    assert summary["roi_percent"] == "233.3"
    assert summary["cost_per_new_paying_customer"] == "37.50"
    assert summary["earnings_per_click"] == "0.44"
    assert summary["paying_customers"] == "2"
    assert summary["applications_waiting"] == "1"
    # One row per day (30) and the total: 170 clicks, 140 unique, 7 signups, 2 new paying,
    # $250.00 revenue, $75.00 commission; the days add up to it.
    assert trend[0] == [
        "day",
        "clicks",
        "unique_clicks",
        "signups",
        "first_payments",
        "revenue_USD",
        "commission_USD",
    ]
    assert len(trend) == 1 + 30 + 1
    assert trend[-1] == ["total", "170", "140", "7", "2", "250.00", "75.00"]
    assert sum(int(row[1]) for row in trend[1:-1]) == 170
    assert sum(int(row[5].replace(".", "")) for row in trend[1:-1]) == 25_000
    # The affiliates' total row: the same totals, the program's retention and LTV.
    header, total = affiliates[0], dict(zip(affiliates[0], affiliates[-1], strict=True))
    assert [row[0] for row in affiliates[1:]] == ["alice", "bob", "total"]
    assert total["clicks"] == "170" and total["revenue_USD"] == "250.00"
    assert total["commission_USD"] == "75.00" and total["ltv_USD"] == "175.00"
    assert total["retention_3m_percent"] == "66.7"
    assert "epc_USD" in header
    # 90 days by state: pending 75.00, approved 30.00, in payout 0.00, paid 30.00 = 135.00
    assert commissions[1:] == [["USD", "75.00", "30.00", "0.00", "30.00", "135.00"]]
    # 1 payout of $75.00 paid; $60.00 owed
    assert payouts[1:] == [["USD", "1", "75.00", "60.00"]]


def test_commission_states_follow_the_rollup_day_rule_for_bounties_and_adjustments():

    affiliate = AffiliateFactory()
    # A signup on 1 Oct whose $0.25 bounty was written on 2 Nov: it belongs to 1 Oct.
    signup = ReferralFactory(affiliate=affiliate, created_at=at(10, 1))
    CommissionEntryFactory(
        affiliate=affiliate,
        kind=E.Kind.SIGNUP,
        source_type=E.SourceType.SIGNUP,
        source_id=str(signup.pk),
        amount=25,
        created_at=NOW,
    )
    # An adjustment of $5.00 written on 20 Oct (approved), one of €3.00 on 2 Nov, and a
    # declined one that counts nowhere.
    CommissionEntryFactory(
        affiliate=affiliate, amount=500, created_at=at(10, 20), state=E.State.APPROVED
    )
    CommissionEntryFactory(affiliate=affiliate, amount=300, currency="EUR", created_at=NOW)
    CommissionEntryFactory(affiliate=affiliate, amount=999, created_at=NOW, state="declined")
    october = Period(days=31, start=at(10, 1).date(), end=at(10, 31).date(), key="custom")
    november = Period(days=2, start=at(11, 1).date(), end=at(11, 2).date(), key="custom")

    # October: the bounty (pending 25) and the adjustment (approved 500), in USD.
    assert commission_states(period=october) == {
        "USD": {"pending": 25, "approved": 500, "in_payout": 0, "paid": 0}
    }
    # November: only the EUR adjustment (pending 300).
    assert commission_states(period=november) == {
        "EUR": {"pending": 300, "approved": 0, "in_payout": 0, "paid": 0}
    }


def test_a_customer_lost_to_a_chargeback_is_not_a_paying_customer(program, manager_client):
    # c3 (20 Oct, $200, $50 refunded) is lost to a chargeback: the 30-day paying customers
    # drop from c1 and c3 to c1 alone.
    record_dispute(
        provider="api",
        external_id="dp-c3",
        payment_ref="c3-oct",
        amount=20_000,
        currency="USD",
        status="lost",
        at=NOW,
        now=NOW,
    )

    page = _get(manager_client, "/dashboard/program/", range="30")

    assert _tile(page.content.decode(), "paying-customers") == "1"
