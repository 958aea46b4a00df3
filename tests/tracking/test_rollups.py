"""Daily rollups: recomputed idempotently; money columns belong to the commissions app."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from tests.factories import ClickFactory, ReferralFactory
from tracking.models import DailyPathStat, DailyReferrerStat, DailyStat
from tracking.services import refresh_rollups, set_daily_money

pytestmark = pytest.mark.django_db


def test_rollups_count_clicks_unique_visitors_rejections_and_signups(alice, bob, now):
    # given alice: 3 honoured clicks by 2 visitors, 1 bot click, 1 signup through a click today
    c1 = ClickFactory(affiliate=alice, at=now, visitor_hash="a" * 32, referrer_domain="t.co")
    ClickFactory(affiliate=alice, at=now, visitor_hash="a" * 32, landing_path="/pricing/")
    ClickFactory(affiliate=alice, at=now, visitor_hash="b" * 32)
    ClickFactory(affiliate=alice, at=now, honoured=False, reason="bot")
    ClickFactory(affiliate=bob, at=now - timedelta(days=1))
    ClickFactory(affiliate=bob, at=now - timedelta(days=5))  # outside today/yesterday
    ReferralFactory(affiliate=alice, created_at=now, click_id=c1.pk)

    # when the job runs twice
    refresh_rollups(now=now)
    refresh_rollups(now=now)

    # then
    today = now.date()
    a = DailyStat.objects.get(affiliate=alice, day=today)
    assert (a.clicks, a.unique_clicks, a.rejected_clicks, a.signups) == (3, 2, 1, 1)
    assert DailyStat.objects.get(affiliate=bob, day=today - timedelta(days=1)).clicks == 1
    assert DailyStat.objects.count() == 2
    blog = DailyPathStat.objects.get(affiliate=alice, day=today, path="/blog/post/")
    assert (blog.clicks, blog.unique_clicks, blog.signups) == (2, 2, 1)
    assert DailyReferrerStat.objects.get(affiliate=alice, day=today, domain="t.co").signups == 1


def test_money_columns_survive_a_refresh_and_click_columns_survive_set_daily_money(alice, now):
    ClickFactory(affiliate=alice, at=now)
    refresh_rollups(now=now)

    # $120.00 revenue, $60.00 commission (50% of the first payment), in cents
    set_daily_money(rows=[(alice.pk, now.date(), 1, 12000, 6000)])
    refresh_rollups(now=now)

    row = DailyStat.objects.get(affiliate=alice, day=now.date())
    assert (row.clicks, row.first_payments, row.revenue, row.commission) == (1, 1, 12000, 6000)


def test_set_daily_money_creates_a_missing_day(alice):
    set_daily_money(rows=[(alice.pk, date(2026, 10, 1), 0, 5000, 1000)])

    row = DailyStat.objects.get(affiliate=alice, day=date(2026, 10, 1))
    assert (row.clicks, row.revenue, row.commission) == (0, 5000, 1000)


def test_the_monthly_breakdowns_are_the_sums_of_their_days(alice, bob):
    # given clicks on two days of March and one of April, through two pages and referrers
    from tests.factories import ClickFactory as Click
    from tracking.models import MonthlyPathStat, MonthlyReferrerStat
    from tracking.services import refresh_rollups_for_day

    days = [date(2026, 3, 1), date(2026, 3, 31), date(2026, 4, 1)]
    for n, day in enumerate(days):
        for k in range(n + 1):
            at = datetime.combine(day, time(12), tzinfo=UTC)
            Click(affiliate=alice, at=at, landing_path=f"/p{k}/", referrer_domain=f"r{k}.test")
        Click(affiliate=bob, at=datetime.combine(day, time(13), tzinfo=UTC), landing_path="/b/")

    # when each day is rolled up (twice: idempotent)
    for day in days * 2:
        refresh_rollups_for_day(day)

    # then each month's row is its days' rows added up
    for daily, monthly, key in (
        (DailyPathStat, MonthlyPathStat, "path"),
        (DailyReferrerStat, MonthlyReferrerStat, "domain"),
    ):
        summed: dict = {}
        for row in daily.objects.all():
            ident = (row.affiliate_id, row.day.replace(day=1), getattr(row, key))
            c, u, s = summed.get(ident, (0, 0, 0))
            summed[ident] = (c + row.clicks, u + row.unique_clicks, s + row.signups)
        assert {
            (m.affiliate_id, m.month, getattr(m, key)): (m.clicks, m.unique_clicks, m.signups)
            for m in monthly.objects.all()
        } == summed
    assert (
        MonthlyPathStat.objects.get(affiliate=alice, month=date(2026, 3, 1), path="/p0/").clicks
        == 2
    )
