"""Clicks that grow without bound: monthly partitions made ahead (PostgreSQL), old clicks
dropped by CLICK_RETENTION_DAYS while the daily rollups keep their figures."""

import importlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from dashboard.selectors.referrals import referral_detail
from tests.factories import ClickFactory, ReferralFactory
from tracking import services
from tracking.models import Click, DailyPathStat, DailyStat
from tracking.services import retention
from tracking.services.rollups import refresh_rollups_for_day
from tracking.tasks import ensure_click_partitions_task, purge_old_clicks_task

from .conftest import CHROME

pytestmark = pytest.mark.django_db

on_postgres = connection.vendor == "postgresql"


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _partition_of(click_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM tracking_click WHERE id = %s", [click_id]
        )
        return cursor.fetchone()[0]


def _exists(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        return cursor.fetchone()[0]


def _rollups() -> list[tuple]:
    stats = DailyStat.objects.order_by("affiliate_id", "day")
    paths = DailyPathStat.objects.order_by("affiliate_id", "day", "path")
    return list(stats.values_list("affiliate_id", "day", "clicks", "unique_clicks")) + list(
        paths.values_list("affiliate_id", "day", "path", "clicks")
    )


@pytest.mark.skipif(not on_postgres, reason="the table is plain on SQLite")
def test_the_click_table_is_partitioned_by_month_with_a_default_partition(db):
    assert retention.is_partitioned()
    assert _exists("tracking_click_default")


def test_old_clicks_go_and_rollups_stay(alice, settings):
    # given clicks in June, July and August 2025 (months with their own partition on
    # PostgreSQL), one in January 2025 (no partition: the DEFAULT one) and a recent one
    settings.CLICK_RETENTION_DAYS = 400
    jan = ClickFactory(affiliate=alice, at=_at(2025, 1, 5, 9))
    june = ClickFactory(affiliate=alice, at=_at(2025, 6, 10, 9))
    july = ClickFactory(affiliate=alice, at=_at(2025, 7, 31, 23, 59))
    aug_old = ClickFactory(affiliate=alice, at=_at(2025, 8, 10, 9))
    aug_new = ClickFactory(affiliate=alice, at=_at(2025, 8, 20, 9))
    recent = ClickFactory(affiliate=alice, at=_at(2026, 9, 1, 9))
    made = services.ensure_click_partitions(now=_at(2025, 6, 1), ahead=2)
    everyone = [jan, june, july, aug_old, aug_new, recent]
    for click in everyone:
        refresh_rollups_for_day(click.at.date())
    rollups = _rollups()
    assert len(rollups) == 12  # 6 days × (one DailyStat + one DailyPathStat)

    # when the purge runs 400 days after 2025-08-15 (the cutoff), twice, as a retry would
    now = _at(2025, 8, 15) + timedelta(days=400)
    first = services.purge_old_clicks(now=now)
    second = services.purge_old_clicks(now=now)

    # then the rollups are untouched, and the old clicks are gone
    assert first.cutoff == _at(2025, 8, 15)
    assert _rollups() == rollups
    left = set(Click.objects.values_list("pk", flat=True))
    if on_postgres:
        # whole months before the cutoff are dropped; August straddles it and stays whole;
        # the DEFAULT partition's old row is deleted
        assert made == [f"tracking_click_y2025m{m:02}" for m in (6, 7, 8)]
        assert first.partitions_dropped == ["tracking_click_y2025m06", "tracking_click_y2025m07"]
        assert first.rows_deleted == 1
        assert not _exists("tracking_click_y2025m06") and _exists("tracking_click_y2025m08")
        assert left == {aug_old.pk, aug_new.pk, recent.pk}
    else:
        assert made == []
        assert first.rows_deleted == 4
        assert left == {aug_new.pk, recent.pk}
    # and a second run finds nothing more to do
    assert (second.partitions_dropped, second.rows_deleted, second.more) == ([], 0, False)
    assert set(Click.objects.values_list("pk", flat=True)) == left


def test_the_purge_works_in_batches_and_says_when_more_is_left(alice, now):
    # given three clicks far older than 400 days (no partition of their own: batched deletes
    # on both engines)
    for day in (1, 2, 3):
        ClickFactory(affiliate=alice, at=_at(2024, 1, day))
    ClickFactory(affiliate=alice, at=now)

    # when one batch of two is allowed per run
    first = services.purge_old_clicks(now=now, batch_size=2, max_batches=1)
    second = services.purge_old_clicks(now=now, batch_size=2, max_batches=1)

    # then the first run deletes two and asks for more, the second finishes
    assert (first.rows_deleted, first.more) == (2, True)
    assert (second.rows_deleted, second.more) == (1, False)
    assert list(Click.objects.values_list("at", flat=True)) == [now]


def test_retention_never_drops_clicks_inside_the_cookie_window(alice, now, settings):
    # given retention set to 1 day, with 30-day cookies: the rollups of today and yesterday
    # read clicks a new signup's cookie names, up to 30 days old
    settings.CLICK_RETENTION_DAYS = 1
    settings.REFERRAL_COOKIE_DAYS = 30
    young = ClickFactory(affiliate=alice, at=now - timedelta(days=31))
    ClickFactory(affiliate=alice, at=now - timedelta(days=33))

    # when the purge runs
    purge = services.purge_old_clicks(now=now)

    # then only clicks older than 30 + 2 days went
    assert purge.cutoff == now - timedelta(days=32)
    assert list(Click.objects.values_list("pk", flat=True)) == [young.pk]


def test_a_partition_is_created_ahead_by_the_beat_task(alice):
    # given a click of February 2031, before any partition of that month exists
    click = ClickFactory(affiliate=alice, at=_at(2031, 2, 3, 8))
    entry = celery_app.conf.beat_schedule["ensure-click-partitions"]
    assert entry["task"] == ensure_click_partitions_task.name

    # when the daily job runs on 2031-01-20, twice
    with time_machine.travel(_at(2031, 1, 20, 0, 17), tick=False):
        created = ensure_click_partitions_task()
        again = ensure_click_partitions_task()

    # then this month's and the next two months' partitions exist, the click moved into
    # its month's partition, and the second run created nothing
    assert again == []
    if on_postgres:
        assert created == [f"tracking_click_y2031m{m:02}" for m in (1, 2, 3)]
        assert _partition_of(click.pk) == "tracking_click_y2031m02"
    else:
        assert created == []
    assert Click.objects.get(pk=click.pk).at == _at(2031, 2, 3, 8)


def test_a_click_for_a_month_without_a_partition_still_flushes(alice, now):
    # given a click from a clock 18 years ahead buffered beside an ordinary one
    far = services.record_click(
        username="alice",
        landing_path="/blog/",
        params=[],
        referrer="",
        user_agent=CHROME,
        ip="203.0.113.7",
        now=_at(2044, 2, 29, 12),
    )
    ordinary = services.record_click(
        username="alice",
        landing_path="/blog/",
        params=[],
        referrer="",
        user_agent=CHROME,
        ip="203.0.113.7",
        now=now,
    )

    # when the flush runs
    services.flush_clicks()

    # then both are stored: the far one in the DEFAULT partition on PostgreSQL
    assert set(Click.objects.values_list("pk", flat=True)) == {far.click_id, ordinary.click_id}
    if on_postgres:
        assert _partition_of(far.click_id) == "tracking_click_default"


def test_the_purge_task_runs_the_purge(alice):
    ClickFactory(affiliate=alice, at=_at(2020, 1, 1))
    ClickFactory(affiliate=alice, at=_at(2026, 11, 1))

    assert purge_old_clicks_task(now="2026-11-02T12:00:00+00:00") == 1

    assert Click.objects.count() == 1
    assert celery_app.conf.beat_schedule["purge-old-clicks"]["task"] == purge_old_clicks_task.name


def test_a_referral_still_names_its_click_and_day_after_the_click_is_purged(alice, now):
    # given a signup through a click made 500 days ago, the cookie's time stored with it
    clicked = now - timedelta(days=500)
    click = ClickFactory(affiliate=alice, at=clicked, landing_path="/pricing/")
    referral = ReferralFactory(
        affiliate=alice, click_id=click.pk, cookie_set_at=clicked, created_at=clicked
    )

    # when the click is purged
    services.purge_old_clicks(now=now)

    # then the drill-down still says which click and which day (the landing path went
    # with the click)
    assert not Click.objects.filter(pk=click.pk).exists()
    detail = referral_detail(
        affiliate_id=alice.pk, username="alice", referral_id=referral.pk, now=now
    )
    assert detail is not None
    assert (detail.why.click_id, detail.why.at, detail.why.link) == (click.pk, clicked, "")


@pytest.mark.skipif(not on_postgres, reason="the migration does nothing on SQLite")
def test_the_migration_partitions_an_existing_populated_table(alice, monkeypatch):
    # given the plain table an existing deployment has (as migration 0002 made it, identity
    # id and Django's index names) holding clicks of this month, older months and 2019;
    # everything here is rolled back with the test's transaction, DDL included
    migration = importlib.import_module("tracking.migrations.0007_click_partitions")
    real_now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE tracking_click")
    with connection.schema_editor() as editor:
        editor.create_model(Click)
    indexes = _index_names()
    assert len(indexes) == 4  # the id, (affiliate, at), affiliate and at
    times = [real_now, real_now - timedelta(days=40), real_now - timedelta(days=300)]
    times += [_at(2019, 5, 5)] + [real_now - timedelta(hours=h) for h in range(120)]
    kept = Click.objects.bulk_create([ClickFactory.build(affiliate=alice, at=t) for t in times])
    before = sorted(Click.objects.values_list("pk", "at"))

    # when the migration runs, with a small batch so it copies in several, then again
    monkeypatch.setattr(migration, "BATCH", 50)
    with connection.schema_editor(atomic=False) as editor:
        migration.partition_click_table(None, editor)
        migration.partition_click_table(None, editor)

    # then the same rows sit in monthly partitions (2019, before retention: in the DEFAULT
    # one), under the same index names, and the next id continues after the last one
    assert retention.is_partitioned()
    assert sorted(Click.objects.values_list("pk", "at")) == before
    assert _index_names() == indexes
    assert _partition_of(kept[0].pk) == retention.partition_name(real_now.replace(day=1))
    assert _partition_of(kept[3].pk) == "tracking_click_default"
    fresh = ClickFactory(affiliate=alice, at=real_now)
    assert fresh.pk == max(pk for pk, _ in before) + 1
    assert Click.objects.get(pk=kept[1].pk).at == times[1]


def _index_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'tracking_click'")
        return {name for (name,) in cursor.fetchall()}
