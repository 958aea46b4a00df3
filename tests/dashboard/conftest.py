"""Rollup rows written as refresh_rollups and set_daily_money would leave them."""

from datetime import UTC, date, timedelta

import pytest
from django.utils import timezone

from payouts.models import PayoutRun
from tests.factories import AffiliateFactory
from tracking.models import DailyPathStat, DailyReferrerStat, DailyStat
from tracking.services import refresh_monthly_breakdowns


@pytest.fixture
def today() -> date:
    # The views read the real clock; rollups are per UTC day.
    return timezone.now().astimezone(UTC).date()


@pytest.fixture
def days_ago(today):
    return lambda n: today - timedelta(days=n)


def daily(affiliate, day, **figures) -> DailyStat:
    return DailyStat.objects.create(affiliate=affiliate, day=day, **figures)


def path_stat(affiliate, day, path, clicks, unique_clicks=None, signups=0) -> DailyPathStat:
    row = DailyPathStat.objects.create(
        affiliate=affiliate,
        day=day,
        path=path,
        clicks=clicks,
        unique_clicks=clicks if unique_clicks is None else unique_clicks,
        signups=signups,
    )
    # As refresh_rollups_for_day does after writing daily breakdowns.
    refresh_monthly_breakdowns(month=day, affiliate_ids=[affiliate.pk])
    return row


def referrer_stat(affiliate, day, domain, clicks, signups=0) -> DailyReferrerStat:
    row = DailyReferrerStat.objects.create(
        affiliate=affiliate,
        day=day,
        domain=domain,
        clicks=clicks,
        unique_clicks=clicks,
        signups=signups,
    )
    refresh_monthly_breakdowns(month=day, affiliate_ids=[affiliate.pk])
    return row


# The ledger pages' set-up (commissions, payouts, perf-led): alice, logged in, and a
# completed run for her payouts (tests.dashboard.test_payouts_page.payout writes them).
@pytest.fixture
def alice():
    return AffiliateFactory(username="alice")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice.user)
    return client


@pytest.fixture
def run():
    return PayoutRun.objects.create(
        started_at=timezone.now(), state=PayoutRun.State.COMPLETED, totals={}
    )
