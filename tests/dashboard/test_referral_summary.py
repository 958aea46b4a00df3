"""The per-referral summary the referral list reads (tracking.Referral.stat_*,
commissions.referral_stats): marked due by every money writer in its own transaction,
recomputed by the sweeper, equal to a fresh computation from the payments and the ledger
(the drill-down's live figures, and the backfill's) after payments, refunds, lost disputes,
declines and subscription events."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissions.models import CommissionEntry
from commissions.referral_stats import backfill, refresh_referral_stats, summaries
from commissions.services import (
    move_entries,
    record_dispute,
    record_plan_change,
    record_refund,
)
from dashboard.selectors.referrals import money_by_referral, with_figures
from tests.commissions.conftest import pay
from tests.factories import AffiliateFactory, PlanFactory, ReferralFactory
from tracking.models import Referral, ReferralStatDue

pytestmark = pytest.mark.django_db

State = CommissionEntry.State
SUMMARY = (
    "stat_status",
    "stat_plan",
    "stat_first_paid_at",
    "stat_last_paid_at",
    "stat_revenue",
    "stat_commission",
)


@pytest.fixture
def alice():
    plan = PlanFactory(
        name="Flat 30", first_payment_bp=3000, recurring_bp=3000, use_tiers=False, signup_bounty=0
    )
    return AffiliateFactory(username="alice", plan=plan)


def _ago(days: float):
    return timezone.now() - timedelta(days=days)


def _stored(referral) -> dict:
    return dict(
        zip(SUMMARY, Referral.objects.values_list(*SUMMARY).get(pk=referral.pk), strict=True)
    )


def _live(referral) -> dict:
    """The same figures computed now from the payments and the ledger: the drill-down's
    selectors (status, plan, first payment; money per currency, all USD here)."""
    now = timezone.now()
    row = with_figures(Referral.objects.filter(pk=referral.pk), now=now).get()
    revenue, commission = money_by_referral(
        affiliate_id=referral.affiliate_id, referral_ids=[referral.pk]
    )
    (fresh,) = summaries([referral.pk], now=now)
    assert fresh.status == row.status and fresh.first_paid_at == row.first_paid_at
    assert fresh.plan == (row.current_plan or "")
    return {
        "stat_status": row.status,
        "stat_plan": row.current_plan or "",
        "stat_first_paid_at": row.first_paid_at,
        "stat_last_paid_at": row.last_live_paid_at,
        "stat_revenue": sum(a for _, a in revenue[referral.pk]),
        "stat_commission": sum(a for _, a in commission[referral.pk]),
    }


def _refund(ref: str, amount: int, days: float, external_id: str) -> None:
    record_refund(
        provider="api",
        external_id=external_id,
        payment_ref=ref,
        amount=amount,
        currency="USD",
        refunded_at=_ago(days),
        now=_ago(days),
    )


def test_the_summary_equals_the_ledger_after_refunds_disputes_and_declines(alice):
    refunded = ReferralFactory(affiliate=alice, customer_id="c-refunded")
    disputed = ReferralFactory(affiliate=alice, customer_id="c-disputed")
    declined = ReferralFactory(affiliate=alice, customer_id="c-declined")
    pay(refunded, external_id="a1", amount=10000, paid_at=_ago(20), plan="Pro")
    pay(refunded, external_id="a2", amount=5000, paid_at=_ago(5))
    _refund("a2", 2000, 4, "r-a2")
    pay(disputed, external_id="b1", amount=8000, paid_at=_ago(3))
    record_dispute(
        provider="api",
        external_id="d-b1",
        payment_ref="b1",
        amount=8000,
        currency="USD",
        status="lost",
        at=_ago(2),
        now=_ago(2),
    )
    pay(declined, external_id="c1", amount=4000, paid_at=_ago(2))
    entry = CommissionEntry.objects.get(payment__external_id="c1")
    move_entries(
        entry_ids=[entry.pk], from_state=State.PENDING, to_state=State.DECLINED, now=_ago(1)
    )

    refresh_referral_stats(now=timezone.now())

    for referral in (refunded, disputed, declined):
        assert _stored(referral) == _live(referral), referral.customer_id
    # c-refunded: 10000 + (5000 − 2000) = 13000. Commission 30 %: 3000 for a1; a2's 1500
    # declined by the refund, replaced by 30 % of the 3000 kept = 900: 3000 + 900 = 3900.
    # Paying (a2 paid 5 days ago, some of it kept); plan "Pro" from a1 (a2 names none).
    assert _stored(refunded) | {"stat_first_paid_at": None, "stat_last_paid_at": None} == {
        "stat_status": "paying",
        "stat_plan": "Pro",
        "stat_first_paid_at": None,
        "stat_last_paid_at": None,
        "stat_revenue": 13000,
        "stat_commission": 3900,
    }
    # c-disputed: the lost dispute refunds all 8000 (revenue 0), its 2400 entry declined,
    # nothing kept: churned.
    assert _stored(disputed)["stat_revenue"] == 0
    assert _stored(disputed)["stat_commission"] == 0
    assert _stored(disputed)["stat_status"] == "churned"
    # c-declined: 4000 kept, its 1200 declined by hand: 0 commission, still paying.
    assert (_stored(declined)["stat_revenue"], _stored(declined)["stat_commission"]) == (4000, 0)
    assert _stored(declined)["stat_status"] == "paying"
    assert not ReferralStatDue.objects.exists()


def test_a_write_without_a_sweep_leaves_the_referral_due_and_the_sweep_fixes_it(alice):
    referral = ReferralFactory(affiliate=alice, customer_id="c-1")
    pay(referral, external_id="p1", amount=2500, paid_at=_ago(1))

    # Marked in the payment's transaction; the list's figures wait for the sweeper.
    assert ReferralStatDue.objects.filter(referral=referral).exists()
    assert _stored(referral)["stat_status"] == "signed_up"
    assert _stored(referral)["stat_revenue"] == 0

    written = refresh_referral_stats(now=timezone.now())

    assert written == 1
    assert not ReferralStatDue.objects.exists()
    # 2500 paid yesterday, 30 % = 750.
    assert (_stored(referral)["stat_revenue"], _stored(referral)["stat_commission"]) == (2500, 750)
    assert _stored(referral) == _live(referral)

    _refund("p1", 2500, 0.5, "r1")
    assert ReferralStatDue.objects.filter(referral=referral).exists()
    refresh_referral_stats(now=timezone.now())
    # Fully refunded: nothing kept, the 750 declined.
    assert _stored(referral) == _live(referral)
    assert (_stored(referral)["stat_status"], _stored(referral)["stat_revenue"]) == ("churned", 0)


def test_paying_lapses_to_churned_when_the_window_ends_without_a_mark(alice):
    referral = ReferralFactory(affiliate=alice, customer_id="c-lapse")
    pay(referral, external_id="p1", amount=1000, paid_at=_ago(30))
    refresh_referral_stats(now=timezone.now())
    assert _stored(referral)["stat_status"] == "paying"

    # Five days on: paid 30 + 6 = 36 days before, past the 35-day window; nothing wrote.
    later = timezone.now() + timedelta(days=6)
    assert refresh_referral_stats(now=later) == 1

    assert _stored(referral)["stat_status"] == "churned"
    assert refresh_referral_stats(now=later) == 0  # nothing left to lapse


def test_subscription_events_move_the_status_and_plan(alice):
    referral = ReferralFactory(affiliate=alice, customer_id="c-sub", plan="Trial")
    pay(referral, external_id="p1", amount=50000, paid_at=_ago(200), plan="Annual")
    record_plan_change(
        event_id="e1",
        referral=referral,
        subscription_id="s1",
        product_plan="Annual Pro",
        status="active",
        changed_at=_ago(200),
    )
    refresh_referral_stats(now=timezone.now())
    # Paid 200 days ago, but the subscription says active: paying, on the event's plan.
    assert _stored(referral)["stat_status"] == "paying"
    assert _stored(referral)["stat_plan"] == "Annual Pro"

    record_plan_change(
        event_id="e2",
        referral=referral,
        subscription_id="s1",
        product_plan="",
        status="canceled",
        changed_at=_ago(1),
    )
    assert ReferralStatDue.objects.filter(referral=referral).exists()
    refresh_referral_stats(now=timezone.now())

    assert _stored(referral) == _live(referral)
    assert _stored(referral)["stat_status"] == "churned"
    assert _stored(referral)["stat_plan"] == "Annual Pro"  # the cancel names no plan


def test_the_backfill_writes_what_the_sweeper_writes(alice):
    referrals = [ReferralFactory(affiliate=alice, customer_id=f"c-{i}") for i in range(5)]
    for i, referral in enumerate(referrals[:4]):
        pay(referral, external_id=f"p{i}", amount=1000 * (i + 1), paid_at=_ago(i * 20))
    _refund("p1", 500, 10, "r1")
    refresh_referral_stats(now=timezone.now())
    swept = {r.pk: _stored(r) for r in referrals}
    Referral.objects.update(stat_status="signed_up", stat_revenue=0, stat_commission=0)

    assert backfill(now=timezone.now(), batch=2) == 5

    assert {r.pk: _stored(r) for r in referrals} == swept


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["pay", "refund", "lose", "decline"]),
            st.integers(1, 20_000),
            st.integers(0, 90),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_history_of_writes_then_a_sweep_equals_a_fresh_computation(alice, steps):
    referral = ReferralFactory(affiliate=alice)
    left: dict[str, int] = {}  # payment → what may still be refunded
    for n, (action, amount, days) in enumerate(steps):
        tag = f"{referral.pk}-{n}"
        open_ = [ref for ref, rest in left.items() if rest > 0]
        if action == "pay" or (action in ("refund", "lose") and not open_):
            pay(referral, external_id=f"p{tag}", amount=amount, paid_at=_ago(days))
            left[f"p{tag}"] = amount
        elif action == "refund":
            ref = open_[amount % len(open_)]
            part = min(amount, left[ref])
            _refund(ref, part, 0, f"r{tag}")
            left[ref] -= part
        elif action == "lose":
            ref = open_[amount % len(open_)]
            record_dispute(
                provider="api",
                external_id=f"d{tag}",
                payment_ref=ref,
                amount=left[ref],
                currency="USD",
                status="lost",
                at=_ago(0),
                now=_ago(0),
            )
            left[ref] = 0
        else:
            pending = list(
                CommissionEntry.objects.filter(
                    payment__referral=referral, state=State.PENDING
                ).values_list("pk", flat=True)
            )
            move_entries(
                entry_ids=pending[:1],
                from_state=State.PENDING,
                to_state=State.DECLINED,
                now=_ago(0),
            )

    refresh_referral_stats(now=timezone.now())

    assert _stored(referral) == _live(referral)
