"""The program dashboard's and the overview's figures read bounded data (the ledger's day
rollup, the customer counters the referral summaries keep) and still equal a fresh
computation straight from the ledger and the payments, before and after the sweepers ran,
and after refunds, new payments and a customer moved between affiliates; and their pages
cost the same queries for N and 3N rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db.models import Count, F, Max, Min, Sum
from django.urls import reverse

from affiliates.models import Affiliate
from commissions.ledger_rollups import refresh_ledger_days
from commissions.models import CommissionEntry as E
from commissions.models import Payment
from commissions.referral_stats import backfill, refresh_referral_stats
from commissions.selectors import balances_for
from commissions.services import record_dispute, record_refund
from dashboard.selectors import overview, rollups
from dashboard.selectors.customers import paying_customers, retention
from dashboard.selectors.period import Period
from dashboard.selectors.program import (
    RETENTION_DAYS,
    RETENTION_GRACE_DAYS,
    payout_forecast,
    payouts_owed,
)
from payouts.models import PayoutItem
from tests.commissions.conftest import pay
from tests.dashboard import routes
from tests.dashboard.test_program_figures import NOW, at, program  # noqa: F401 (fixture)
from tests.factories import AffiliateFactory, ReferralFactory, UserFactory
from tracking.models import (
    CohortStat,
    DailyCustomerStat,
    MonthlySalesStat,
    Referral,
    ReferralStatDue,
)

pytestmark = pytest.mark.django_db


def fresh_owed() -> dict[str, int]:
    rows = (
        E.objects.filter(state__in=[E.State.APPROVED, E.State.IN_PAYOUT])
        .values("currency")
        .annotate(total=Sum("amount"))
        .order_by("currency")
    )
    return {r["currency"]: r["total"] for r in rows}


def fresh_balances() -> dict[tuple[int, str], int]:
    rows = (
        E.objects.filter(state=E.State.APPROVED)
        .exclude(pk__in=PayoutItem.objects.filter(live=True).values("entry_id"))
        .values("affiliate_id", "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {(r["affiliate_id"], r["currency"]): r["total"] for r in rows}


def fresh_retention(today) -> dict[int, dict[int, tuple[int, int]]]:
    rows = (
        Payment.objects.filter(referral__affiliate__isnull=False, amount__gt=F("refunded_amount"))
        .exclude(dispute_state=Payment.DisputeState.LOST)
        .values("referral_id", "referral__affiliate_id")
        .annotate(first=Min("paid_at"), last=Max("paid_at"))
    )
    out: dict[int, dict[int, list[int]]] = defaultdict(
        lambda: {m: [0, 0] for m in (0, *RETENTION_DAYS)}
    )
    for r in rows:
        per = out[r["referral__affiliate_id"]]
        first, last = r["first"].astimezone(UTC).date(), r["last"].astimezone(UTC).date()
        per[0] = [per[0][0] + 1, per[0][1] + 1]
        for months, days in RETENTION_DAYS.items():
            if (today - first).days >= days:
                per[months][0] += 1
                per[months][1] += (last - first).days >= days - RETENTION_GRACE_DAYS
    return {a: {m: tuple(v) for m, v in per.items()} for a, per in out.items()}


def _period(start: date, end: date) -> Period:
    return Period(days=(end - start).days + 1, start=start, end=end, key="custom")


# Today, the last 7 / 30 / 90 / 400 days, and spans that start or end on a payment's day.
PERIODS = [
    *(_period(NOW.date() - timedelta(days=n - 1), NOW.date()) for n in (1, 7, 30, 90, 400)),
    _period(date(2026, 5, 1), date(2026, 8, 4)),
    _period(date(2026, 8, 5), date(2026, 10, 31)),
    _period(date(2025, 9, 2), date(2026, 9, 5)),
]


def fresh_paying(period: Period) -> dict[int, int]:
    start = datetime.combine(period.start, time.min, tzinfo=UTC)
    end = datetime.combine(period.end + timedelta(days=1), time.min, tzinfo=UTC)
    rows = (
        Payment.objects.filter(
            referral__affiliate__isnull=False,
            amount__gt=F("refunded_amount"),
            paid_at__gte=start,
            paid_at__lt=end,
        )
        .exclude(dispute_state=Payment.DisputeState.LOST)
        .values("referral__affiliate_id")
        .annotate(n=Count("referral_id", distinct=True))
        .order_by()
    )
    return {r["referral__affiliate_id"]: r["n"] for r in rows}


def _counters() -> tuple[set, set]:
    return (
        set(DailyCustomerStat.objects.values_list("affiliate_id", "day", "previous", "customers")),
        set(
            CohortStat.objects.values_list("affiliate_id", "first_day", "kept_months", "customers")
        ),
    )


def _figures(alice):
    today = NOW.date()
    forecast = payout_forecast(now=NOW)
    mine = overview.payout_forecast(affiliate=alice, now=NOW)
    return {
        "owed": payouts_owed(),
        "retention": retention(today=today),
        "balances": {(r.affiliate_id, r.currency): r.amount for r in forecast["rows"]},
        "overview": {c.currency: (c.approved, c.in_payout) for c in mine.currencies},
        "ledger_balances": {
            a.pk: rollups.balances(affiliate_id=a.pk) for a in Affiliate.objects.all()
        },
    }


@pytest.mark.parametrize("swept", [False, True], ids=["marks-read-live", "after-sweep"])
def test_each_bounded_figure_equals_a_fresh_computation_from_the_ledger(program, swept):  # noqa: F811
    alice, bob = program
    if swept:
        refresh_referral_stats(now=NOW)
        refresh_ledger_days()

    figures = _figures(alice)

    # Retention on 2 Nov 2026. alice: c1 paid 1 May … 1 Nov (184 days; 185 days old: counts
    # at 3 and 6 months, kept at both: 184 ≥ 90 − 7 and ≥ 180 − 7), c2 once on 1 Jul (124
    # days old: counts at 3 months, not kept), c3 on 20 Oct (partly refunded, still paying;
    # too young) → lifetime 3, 3 months 1 of 2, 6 months 1 of 1. bob: c4 refunded in full
    # (no customer), c5 1 Sep 2025 … 5 Sep 2026 (369 days ≥ 365 − 7, 427 days old) → kept
    # at 3, 6 and 12 months.
    assert figures["retention"][alice.pk] == {0: (3, 3), 3: (2, 1), 6: (1, 1), 12: (0, 0)}
    assert figures["retention"][bob.pk] == {0: (1, 1), 3: (1, 1), 6: (1, 1), 12: (1, 1)}
    assert figures["retention"] == fresh_retention(NOW.date())
    for period in PERIODS:
        assert paying_customers(period) == fresh_paying(period), period
    assert figures["owed"] == fresh_owed()
    assert figures["ledger_balances"] == {
        a.pk: sorted(balances_for(affiliate_id=a.pk).items()) for a in Affiliate.objects.all()
    }
    assert figures["ledger_balances"][alice.pk]  # alice has entries in several states
    # The next run after 2 Nov is the 15th's, two-weekly affiliates only (neither is):
    # nothing in the forecast, though bob has $60 approved (fresh_balances).
    affiliates = {a.pk: a for a in Affiliate.objects.all()}
    assert fresh_balances()[(bob.pk, "USD")] == 6_000
    assert figures["balances"] == {
        (a, c): v
        for (a, c), v in fresh_balances().items()
        if v > 0
        and v >= affiliates[a].payout_threshold
        and affiliates[a].payout_frequency == Affiliate.Frequency.TWO_WEEKLY
    }
    monthly = payout_forecast(now=NOW.replace(day=20))  # the 1 Dec run pays everyone
    assert {(r.affiliate_id, r.currency): r.amount for r in monthly["rows"]} == {
        (a, c): v
        for (a, c), v in fresh_balances().items()
        if v > 0 and v >= affiliates[a].payout_threshold
    }
    approved = E.objects.filter(affiliate=alice, state=E.State.APPROVED).aggregate(t=Sum("amount"))[
        "t"
    ]
    in_payout = E.objects.filter(affiliate=alice, state=E.State.IN_PAYOUT).aggregate(
        t=Sum("amount")
    )["t"]
    assert figures["overview"].get("USD", (0, 0)) == (approved or 0, in_payout or 0)


def _referral(external_id: str) -> Referral:
    return Payment.objects.get(external_id=external_id).referral


def test_the_customer_counters_follow_refunds_payments_disputes_and_a_moved_customer(program):  # noqa: F811
    alice, bob = program
    refresh_referral_stats(now=NOW)
    c2, c5 = _referral("c2-jul"), _referral("c5-2025")

    # c1's first payment refunded in full (its first kept day moves to 5 Aug), c2 pays again
    # (kept at 3 months now), c5's 2026 payment lost to a chargeback (kept at none), c5 then
    # moved to alice (as an accepted claim does: the row, and the mark), and a new customer.
    record_refund(
        provider="api",
        external_id="re-c1-may",
        payment_ref="c1-may",
        amount=10_000,
        currency="USD",
        refunded_at=NOW,
        now=NOW,
    )
    pay(c2, external_id="c2-oct", amount=5_000, paid_at=at(10, 2))
    record_dispute(
        provider="api",
        external_id="dp-c5-2026",
        payment_ref="c5-2026",
        amount=10_000,
        currency="USD",
        status="lost",
        at=NOW,
        now=NOW,
    )
    Referral.objects.filter(pk=c5.pk).update(affiliate=alice)
    ReferralStatDue.objects.create(referral=c5)
    c6 = ReferralFactory(affiliate=bob, created_at=at(10, 1))
    pay(c6, external_id="c6-oct", amount=7_000, paid_at=at(10, 3))

    for stage in ("marks read live", "after the sweep"):
        if stage == "after the sweep":
            refresh_referral_stats(now=NOW)
            assert not ReferralStatDue.objects.exists()
        found = retention(today=NOW.date())
        # alice: c1 from 5 Aug (89 days old: too young), c2 1 Jul … 2 Oct (kept at 3
        # months), c3, and c5 (1 Sep 2025 only: counted at 3, 6, 12 months, kept at none);
        # bob: c6 only (c4 refunded in full).
        assert found[alice.pk] == {0: (4, 4), 3: (2, 1), 6: (1, 0), 12: (1, 0)}, stage
        assert found[bob.pk] == {0: (1, 1), 3: (0, 0), 6: (0, 0), 12: (0, 0)}, stage
        assert found == fresh_retention(NOW.date()), stage
        for period in PERIODS:
            assert paying_customers(period) == fresh_paying(period), (stage, period)

    # Moved in and out share by share, the counters are what a rebuild from nothing gives.
    kept = _counters()
    DailyCustomerStat.objects.all().delete()
    CohortStat.objects.all().delete()
    MonthlySalesStat.objects.all().delete()  # the shares' third counter (test_tier_sales)
    Referral.objects.update(stat_kept=None)
    backfill(now=NOW)
    assert _counters() == kept
    assert all(n > 0 for *_, n in kept[0] | kept[1])


def _seed(today, count: int, start: int) -> None:
    for i in range(start, start + count):
        name = f"bound{i:02d}"
        affiliate = AffiliateFactory(username=name, user=UserFactory(email=f"{name}@example.org"))
        routes.seed_affiliate(affiliate, n=3, base=100_000 + i * 10_000, today=today)


def _count(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm-up: session, caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_program_page_costs_the_same_queries_for_n_and_3n_affiliates(
    support_client, today, django_assert_max_num_queries
):
    url = reverse("dashboard-program")
    _seed(today, 2, 0)
    few = _count(support_client, url)

    _seed(today, 4, 2)  # 3N affiliates, each with its referrals, payments, entries, payouts

    with django_assert_max_num_queries(few):
        assert support_client.get(url).status_code == 200


def test_the_overview_costs_the_same_queries_for_n_and_3n_rows(
    client, today, django_assert_max_num_queries
):
    small = AffiliateFactory(username="fewrows", user=UserFactory(email="few@example.org"))
    routes.seed_affiliate(small, n=3, base=100_000, today=today)
    large = AffiliateFactory(username="manyrows", user=UserFactory(email="many@example.org"))
    routes.seed_affiliate(large, n=9, base=500_000, today=today)
    client.force_login(small.user)
    few = _count(client, reverse("dashboard"))

    client.force_login(large.user)
    client.get(reverse("dashboard"))

    with django_assert_max_num_queries(few):
        assert client.get(reverse("dashboard")).status_code == 200


def _top_from_days(model, key: str, period: Period, affiliate_id=None) -> list[tuple]:
    rows = model.objects.filter(day__gte=period.start, day__lte=period.end)
    if affiliate_id is not None:
        rows = rows.filter(affiliate_id=affiliate_id)
    found = (
        rows.values(key)
        .annotate(c=Sum("clicks"), u=Sum("unique_clicks"), s=Sum("signups"))
        .order_by("-c", "-s", key)
    )
    return [(r[key], r["c"], r["u"], r["s"]) for r in found[:10]]


def test_top_pages_and_referrers_of_long_periods_equal_their_days_summed(today):
    # Whole months read the monthly sums, the days around them the daily rows.
    from tests.dashboard.conftest import path_stat, referrer_stat
    from tracking.models import DailyPathStat, DailyReferrerStat

    alice = AffiliateFactory(username="longalice", user=UserFactory(email="la@example.org"))
    bob = AffiliateFactory(username="longbob", user=UserFactory(email="lb@example.org"))
    for n in range(0, 400, 3):
        day = today - timedelta(days=n)
        for who, k in ((alice, n % 7), (bob, n % 5)):
            path_stat(who, day, f"/p{k}/", clicks=n % 11 + 1, signups=n % 2)
            referrer_stat(who, day, f"r{k}.test", clicks=n % 13 + 1, signups=n % 3)
    periods = [
        *(_period(today - timedelta(days=n - 1), today) for n in (7, 30, 90, 365)),
        _period(today - timedelta(days=399), today - timedelta(days=40)),
        _period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
    ]

    for period in periods:
        for top, model, key in (
            (rollups.top_paths, DailyPathStat, "path"),
            (rollups.top_referrers, DailyReferrerStat, "domain"),
        ):
            for affiliate_id in (None, alice.pk):
                found = top(period=period, affiliate_id=affiliate_id, limit=10)
                assert [
                    (r["name"], r["clicks"], r["unique_clicks"], r["signups"]) for r in found
                ] == _top_from_days(model, key, period, affiliate_id), (period, key)
    assert rollups.whole_months(periods[3]) is not None  # a year holds whole months
