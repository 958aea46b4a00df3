"""Rollup rows written as refresh_rollups and set_daily_money would leave them."""

from datetime import UTC, date, timedelta

import pytest
from django.utils import timezone

from tracking.models import DailyPathStat, DailyReferrerStat, DailyStat


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
    return DailyPathStat.objects.create(
        affiliate=affiliate,
        day=day,
        path=path,
        clicks=clicks,
        unique_clicks=clicks if unique_clicks is None else unique_clicks,
        signups=signups,
    )


def referrer_stat(affiliate, day, domain, clicks, signups=0) -> DailyReferrerStat:
    return DailyReferrerStat.objects.create(
        affiliate=affiliate,
        day=day,
        domain=domain,
        clicks=clicks,
        unique_clicks=clicks,
        signups=signups,
    )
