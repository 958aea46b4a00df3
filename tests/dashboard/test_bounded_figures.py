"""The program dashboard's and the overview's figures read bounded data (the ledger's day
rollup, the referral summaries, the payments of one period) and still equal a fresh
computation straight from the ledger and the payments, before and after the sweepers ran;
and their pages cost the same queries for N and 3N rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC

import pytest
from django.db.models import F, Max, Min, Sum
from django.urls import reverse

from affiliates.models import Affiliate
from commissions.ledger_rollups import refresh_ledger_days
from commissions.models import CommissionEntry as E
from commissions.models import Payment
from commissions.referral_stats import refresh_referral_stats
from dashboard.selectors import overview
from dashboard.selectors.program import (
    RETENTION_DAYS,
    RETENTION_GRACE_DAYS,
    _retention,
    payout_forecast,
    payouts_owed,
)
from payouts.models import PayoutItem
from tests.dashboard import routes
from tests.dashboard.test_program_figures import NOW, program  # noqa: F401 (fixture)
from tests.factories import AffiliateFactory, UserFactory

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


def _figures(alice):
    today = NOW.date()
    forecast = payout_forecast(now=NOW)
    mine = overview.payout_forecast(affiliate=alice, now=NOW)
    return {
        "owed": payouts_owed(),
        "retention": _retention(today=today),
        "balances": {(r.affiliate_id, r.currency): r.amount for r in forecast["rows"]},
        "overview": {c.currency: (c.approved, c.in_payout) for c in mine.currencies},
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
    assert figures["owed"] == fresh_owed()
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
