"""Monthly prizes (commissions.services.prizes): the top affiliates by revenue from customers
whose first payment fell in the month share the budget ($100 / $50 / $25), the top employee
gets $50, once per month however often (or however concurrently) the award runs, as approved
`prize` entries the same day's payout run pays.

The measure, as chosen and documented (README "Monthly prizes"): revenue in the month of the
customers whose first payment ever fell in it, net of tax, in minor units of the program
currency (USD here: program_amount = amount), less refunds, nothing for a lost dispute."""

from __future__ import annotations

import importlib
import json
import threading
from datetime import UTC, date, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from commissions.models import CommissionEntry, PrizeAward, PrizePlace, PrizeRound
from commissions.prize_selectors import kept_revenue, previous_month, prize_standings
from commissions.services import record_refund
from commissions.services.prizes import award_prizes
from payouts.models import PayoutItem
from payouts.selectors import ledger_problems
from payouts.services import run_payouts
from tests.commissions.conftest import pay
from tests.factories import AffiliateFactory, PayoutAccountFactory, ReferralFactory
from tests.webhooks.conftest import make_endpoint
from webhooks.models import Delivery

E = CommissionEntry
NOVEMBER = date(2026, 11, 1)
# The beat entry's moment: the 1st at 12:07 UTC, before the 13:07 payout run.
AWARD_AT = datetime(2026, 12, 1, 12, 7, tzinfo=UTC)


def at(day: int, month: int = 11, year: int = 2026, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


_counter = iter(range(1, 10**6))


def customer_pays(affiliate, *amounts_days, employee=None):
    """A new customer of `affiliate` paying (amount, datetime) pairs."""
    referral = ReferralFactory(affiliate=affiliate, employee=employee)
    for amount, paid_at in amounts_days:
        pay(referral, external_id=f"inv_{next(_counter)}", amount=amount, paid_at=paid_at)
    return referral


def prizes(contest: str = "affiliates") -> list[tuple[int, int, int]]:
    """(rank, affiliate pk, amount) of the prize entries of a contest, by rank."""
    rows = E.objects.filter(kind=E.Kind.PRIZE, source_id__contains=f":{contest}:")
    return sorted(
        (int(e.source_id.rsplit(":", 1)[1]), e.affiliate_id, e.amount) for e in rows.order_by()
    )


@pytest.fixture
def seeded_month(default_plan):
    """November 2026, hand-computed revenue per affiliate (cents):
    alice: c1 first pays 11-03 $100.00, again 11-20 $20.00     → 12000
    bob:   c2 first pays 11-05 $90.00; c3 first paid 10-15 (an old customer), pays
           11-15 $500.00 (not counted)                           →  9000
    carol: c4 first pays 11-10 $80.00, $30.00 refunded 11-12    →  5000 (8000 × 50/80)
    dave:  c5 first pays 11-12 $30.00; c6 first pays 12-01      →  3000 (4th: no prize)
    erin (employee): c7 first pays 11-02 $1,000.00              → 100000, not an affiliate
    frank (employee): named at upgrade on c8 (alice's), 11-25 $40.00 → 4000 for frank,
           and 4000 more for alice → alice 16000
    Ranking: alice 16000, bob 9000, carol 5000, dave 3000 → $100 / $50 / $25.
    Employees: erin 100000, frank 4000 → erin $50."""
    alice, bob, carol, dave = (
        AffiliateFactory(username=n) for n in ("alice", "bob", "carol", "dave")
    )
    erin = AffiliateFactory(username="erin", is_employee=True)
    frank = AffiliateFactory(username="frank", is_employee=True)
    customer_pays(alice, (10000, at(3)), (2000, at(20)))
    customer_pays(bob, (9000, at(5)))
    customer_pays(bob, (50000, at(15, month=10)), (50000, at(15)))
    c4 = customer_pays(carol, (8000, at(10)))
    record_refund(
        provider="api",
        external_id="re_c4",
        payment_ref=c4.payments.get().external_id,
        amount=3000,
        currency="USD",
        refunded_at=at(12),
        now=at(12),
    )
    customer_pays(dave, (3000, at(12)))
    customer_pays(dave, (7000, at(1, month=12, hour=1)))
    customer_pays(erin, (100000, at(2)))
    customer_pays(alice, (4000, at(25)), employee=frank)
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin, "frank": frank}


def test_the_top_three_share_100_50_25_by_new_customers_revenue(seeded_month):
    a = seeded_month

    results = award_prizes(month=NOVEMBER, now=AWARD_AT)

    assert [r.outcome for r in results] == ["awarded", "awarded"]
    assert prizes() == [(1, a["alice"].pk, 10000), (2, a["bob"].pk, 5000), (3, a["carol"].pk, 2500)]
    awards = PrizeAward.objects.filter(contest="affiliates").order_by("rank")
    assert [(w.affiliate_id, w.revenue) for w in awards] == [
        (a["alice"].pk, 16000),
        (a["bob"].pk, 9000),
        (a["carol"].pk, 5000),
    ]
    assert PrizeRound.objects.get(month=NOVEMBER, contest="affiliates").qualifiers == 4


def test_employees_are_left_out_of_the_affiliates_contest_and_get_employee_of_the_month(
    seeded_month,
):
    a = seeded_month

    award_prizes(month=NOVEMBER, now=AWARD_AT)

    affiliate_winners = {pk for _r, pk, _amt in prizes("affiliates")}
    assert a["erin"].pk not in affiliate_winners  # erin's 100000 would have come first
    assert prizes("employees") == [(1, a["erin"].pk, 5000)]
    ranked = prize_standings(month=NOVEMBER, contest="employees").rows
    # frank counts the customer he was named on at upgrade: 4000.
    assert [(s.affiliate_id, s.revenue) for s in ranked] == [
        (a["erin"].pk, 100000),
        (a["frank"].pk, 4000),
    ]


def test_prizes_are_approved_at_once_and_the_same_days_payout_run_pays_them(seeded_month):
    alice = seeded_month["alice"]
    PayoutAccountFactory(affiliate=alice)

    award_prizes(month=NOVEMBER, now=AWARD_AT)
    prize = E.objects.get(kind=E.Kind.PRIZE, affiliate=alice)
    assert (prize.state, prize.approved_at) == (E.State.APPROVED, AWARD_AT)
    assert prize.source_id == "2026-11:affiliates:1" and prize.currency == "USD"
    run_payouts(now=datetime(2026, 12, 1, 13, 7, tzinfo=UTC))

    prize.refresh_from_db()
    assert prize.state == E.State.IN_PAYOUT
    item = PayoutItem.objects.get(entry=prize)
    assert item.amount == 10000 and item.payout.affiliate_id == alice.pk
    assert ledger_problems() == []  # check_ledger's invariants hold with prize entries


def test_running_twice_writes_nothing_the_second_time(seeded_month):
    award_prizes(month=NOVEMBER, now=AWARD_AT)
    entries, awards = E.objects.filter(kind=E.Kind.PRIZE).count(), PrizeAward.objects.count()
    # A late payment of a new customer arrives after the award: the month stays decided.
    customer_pays(AffiliateFactory(), (900000, at(30)))

    again = award_prizes(month=NOVEMBER, now=AWARD_AT.replace(hour=18))

    assert [r.outcome for r in again] == ["already", "already"]
    assert (entries, awards) == (4, 4)
    assert E.objects.filter(kind=E.Kind.PRIZE).count() == 4
    assert PrizeAward.objects.count() == 4


def test_ties_go_to_the_earlier_first_payment_then_the_lower_affiliate_id(default_plan):
    # Four affiliates with 5000 each: late (first payment 11-20), early (11-05), and two
    # whose first payments are both 11-10 10:00 — the lower id ranks first. One more with
    # 7000 leads. Expected: lead, early, twin1 (lower id), twin2 gets nothing (3 places).
    lead = AffiliateFactory()
    late = AffiliateFactory()
    early = AffiliateFactory()
    twin1 = AffiliateFactory()
    twin2 = AffiliateFactory()
    assert twin1.pk < twin2.pk
    customer_pays(lead, (7000, at(25)))
    customer_pays(late, (5000, at(20)))
    customer_pays(early, (2000, at(5)), (3000, at(28)))
    customer_pays(twin2, (5000, at(10)))
    customer_pays(twin1, (5000, at(10)))

    award_prizes(month=NOVEMBER, now=AWARD_AT)

    assert prizes() == [(1, lead.pk, 10000), (2, early.pk, 5000), (3, twin1.pk, 2500)]
    assert late.pk not in {pk for _r, pk, _a in prizes()}


def test_fewer_qualifiers_than_places_pay_only_the_places_won(default_plan):
    # One affiliate with a new customer ($10.00); nobody else; no employee at all.
    only = AffiliateFactory()
    customer_pays(only, (1000, at(8)))

    results = award_prizes(month=NOVEMBER, now=AWARD_AT)

    assert prizes() == [(1, only.pk, 10000)]
    assert prizes("employees") == []
    assert {r.contest: len(r.awards) for r in results} == {"affiliates": 1, "employees": 0}
    # The empty employee round is recorded too: decided once, like any other.
    assert PrizeRound.objects.filter(month=NOVEMBER).count() == 2


def test_the_budget_is_admin_data_and_a_changed_place_applies_to_later_months(default_plan):
    PrizePlace.objects.filter(contest="affiliates", rank=1).update(amount=12000)
    PrizePlace.objects.create(contest="affiliates", rank=4, amount=1000)
    winners = [AffiliateFactory() for _ in range(4)]
    for i, w in enumerate(winners):
        customer_pays(w, (5000 - i * 100, at(9)))

    award_prizes(month=NOVEMBER, now=AWARD_AT)

    assert [amt for _r, _pk, amt in prizes()] == [12000, 5000, 2500, 1000]


def test_a_payment_waiting_for_an_exchange_rate_postpones_the_round(default_plan):
    # A EUR payment with no EUR rate known: its program amount is unknown, so no round is
    # decided on a guess; once the rate exists, the award runs normally.
    waiting = ReferralFactory(affiliate=AffiliateFactory())
    pay(waiting, external_id="inv_eur", amount=5000, currency="EUR", paid_at=at(9))

    results = award_prizes(month=NOVEMBER, now=AWARD_AT)

    assert results[0].outcome == "waiting" and results[0].waiting == 1
    assert not PrizeRound.objects.filter(contest="affiliates").exists()
    assert not E.objects.filter(kind=E.Kind.PRIZE).exists()


def test_a_month_not_over_is_refused_and_writes_nothing(default_plan):
    with pytest.raises(CommandError, match="has not ended"):
        call_command("award_prizes", "--month", "2026-12", "--now", "2026-12-20T00:00:00Z")
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("award_prizes", "--month", "November")
    with pytest.raises(CommandError, match="--month"):
        call_command("award_prizes", "--month", "2026-13")
    assert not PrizeRound.objects.exists()


def test_the_command_defaults_to_last_month_and_says_what_it_did(seeded_month, capsys):
    call_command("award_prizes", "--now", "2026-12-01T12:07:00Z")
    call_command("award_prizes", "--now", "2026-12-01T12:08:00Z")

    out = capsys.readouterr().out
    assert "2026-11 affiliates: 3 prize(s), 4 qualifier(s)" in out
    assert "2026-11 employees: 1 prize(s), 2 qualifier(s)" in out
    assert "2026-11 affiliates: already awarded; nothing written" in out
    assert E.objects.filter(kind=E.Kind.PRIZE).count() == 4


def test_each_prize_is_announced_once_as_prize_awarded(seeded_month):
    make_endpoint("http://127.0.0.1:9/hook", now=timezone.now(), events=["prize.awarded"])

    award_prizes(month=NOVEMBER, now=AWARD_AT)
    award_prizes(month=NOVEMBER, now=AWARD_AT)

    bodies = [json.loads(d.body)["data"]["prize"] for d in Delivery.objects.order_by("pk")]
    assert [(b["contest"], b["rank"], b["amount"]) for b in bodies] == [
        ("affiliates", 1, 10000),
        ("affiliates", 2, 5000),
        ("affiliates", 3, 2500),
        ("employees", 1, 5000),
    ]
    assert bodies[0] == {
        "month": "2026-11",
        "contest": "affiliates",
        "rank": 1,
        "affiliate_id": seeded_month["alice"].pk,
        "amount": 10000,
        "currency": "USD",
        "revenue": 16000,
        "awarded_at": AWARD_AT.isoformat(),
    }


def test_kept_revenue_takes_off_refunds_half_up_and_lost_disputes():
    # 1000 program cents for a 999-cent payment with 333 refunded: 1000 × 666 / 999 =
    # 666.67 → 667. A lost dispute keeps nothing; a full refund keeps nothing.
    assert kept_revenue(program_amount=1000, amount=999, refunded=333, dispute_state="") == 667
    assert kept_revenue(program_amount=1000, amount=1000, refunded=0, dispute_state="lost") == 0
    assert kept_revenue(program_amount=1000, amount=1000, refunded=1000, dispute_state="") == 0


def test_previous_month_wraps_the_year():
    assert previous_month(datetime(2027, 1, 1, 0, 0, tzinfo=UTC)) == date(2026, 12, 1)
    assert previous_month(datetime(2026, 12, 1, 12, 7, tzinfo=UTC)) == NOVEMBER


def _install_default_places() -> None:
    # A transactional test's flush removes the migrated budget rows; put them back as the
    # migration writes them.
    from django.apps import apps

    migration = importlib.import_module("commissions.migrations.0014_prizes")
    migration.create_default_places(apps, None)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_award_the_month_once():
    _install_default_places()
    from tests.factories import default_plan_with_tiers

    default_plan_with_tiers()
    winners = [AffiliateFactory() for _ in range(3)]
    for i, w in enumerate(winners):
        customer_pays(w, (3000 + i * 1000, at(9)))
    employee = AffiliateFactory(is_employee=True)
    customer_pays(employee, (2000, at(9)))
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def run():
        try:
            barrier.wait()
            outcomes.extend(r.outcome for r in award_prizes(month=NOVEMBER, now=AWARD_AT))
        except Exception as exc:  # noqa: BLE001 — collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sorted(outcomes) == ["already", "already", "awarded", "awarded"]
    assert E.objects.filter(kind=E.Kind.PRIZE).count() == 4
    assert PrizeAward.objects.count() == 4
    assert PrizeRound.objects.count() == 2


def test_beat_awards_on_the_1st_before_the_monthly_payout_run():
    from config.celery import app

    prizes_entry = app.conf.beat_schedule["award-prizes-monthly"]
    payouts_entry = app.conf.beat_schedule["run-payouts-monthly"]

    assert prizes_entry["task"] == "commissions.award_prizes"
    assert prizes_entry["schedule"].day_of_month == {1} == payouts_entry["schedule"].day_of_month
    prize_time = (min(prizes_entry["schedule"].hour), min(prizes_entry["schedule"].minute))
    payout_time = (min(payouts_entry["schedule"].hour), min(payouts_entry["schedule"].minute))
    assert prize_time == (12, 7) and prize_time < payout_time == (13, 7)


def test_the_task_awards_last_month_by_default(seeded_month, monkeypatch):
    from commissions.tasks import award_prizes_task

    monkeypatch.setattr(timezone, "now", lambda: AWARD_AT)

    assert award_prizes_task.run() == {"affiliates": "awarded", "employees": "awarded"}
    assert award_prizes_task.run(month="2026-11") == {
        "affiliates": "already",
        "employees": "already",
    }
