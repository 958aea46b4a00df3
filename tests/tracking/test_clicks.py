"""Click writes: no click lost when a web worker restarts; flushing is safe to repeat."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from affiliates import selectors
from affiliates.selectors import resolve_username_memoised
from affiliates.services import suspend_affiliate
from tracking import clicks, services
from tracking.models import Click

from .conftest import CHROME, needs_redis
from .lanes import both_ways  # noqa: F401  (`client`: each test via Django, then the lane)

pytestmark = pytest.mark.django_db
KEYS = [clicks.BUFFER_KEY, clicks.FLUSHING_KEY, clicks.LOCK_KEY]


def _click(alice, now, **kw):
    args = dict(
        username="alice",
        landing_path="/blog/",
        params=[],
        referrer="",
        user_agent=CHROME,
        ip="203.0.113.7",
        now=now,
    )
    args.update(kw)
    return services.record_click(**args)


def test_a_click_is_durable_outside_the_web_process_before_the_302(client, alice):
    # given an honoured redirect
    response = client.get("/r/blog/alice", HTTP_USER_AGENT=CHROME)
    click_id = int(response.cookies["referral_click"].value.split(".")[0])

    # when the web worker dies right after answering (its process state is gone)
    clicks.reset_redis_client()

    # then the click is already outside it: in the table (db mode) or in Redis (buffered)
    in_table = Click.objects.filter(pk=click_id).exists()
    assert in_table or clicks.buffered_count() == 1
    # and after the flush job runs, the row is there with the id the cookie carries
    services.flush_clicks()
    assert Click.objects.filter(pk=click_id, affiliate=alice, honoured=True).exists()


@needs_redis
def test_a_flush_that_crashed_half_way_is_finished_by_the_next_one(alice, now, settings):
    # given three buffered clicks, and a flush that moved them and inserted, then died
    ids = [_click(alice, now).click_id for _ in range(3)]
    client = clicks.redis_client()
    client.set(clicks.LOCK_KEY, "killed", ex=clicks.LOCK_SECONDS)
    items = clicks._scripts["take"](keys=KEYS, args=[10, "killed", clicks.LOCK_SECONDS])
    clicks._insert(items[:2])  # crash before deleting the list
    # its lock blocks the others for at most LOCK_SECONDS (15 s), then expires
    assert services.flush_clicks() == 0
    assert 0 < client.ttl(clicks.LOCK_KEY) <= clicks.LOCK_SECONDS
    client.delete(clicks.LOCK_KEY)  # as its expiry does

    # when the next flush runs (twice, as beat may)
    services.flush_clicks()
    services.flush_clicks()

    # then every click is there exactly once
    assert sorted(Click.objects.values_list("id", flat=True)) == sorted(ids)
    assert client.llen(clicks.FLUSHING_KEY) == 0


@needs_redis
def test_click_ids_continue_after_the_table_when_redis_lost_its_counter(alice, now):
    # given clicks in the table and a Redis that was wiped (counter gone)
    _click(alice, now)
    services.flush_clicks()
    top = Click.objects.get().pk
    clicks.redis_client().flushdb()

    # when the next click arrives
    outcome = _click(alice, now)
    services.flush_clicks()

    # then its id is past every stored one and nothing was overwritten or dropped
    assert outcome.click_id > top
    assert Click.objects.count() == 2


def test_raw_ip_is_never_stored_and_the_hash_rotates_daily(alice, now):
    first = _click(alice, now)
    same_day = _click(alice, now + timedelta(hours=3))
    next_day = _click(alice, now + timedelta(days=1))
    services.flush_clicks()

    rows = {c.pk: c for c in Click.objects.all()}
    assert "203.0.113.7" not in str([vars(c) for c in rows.values()])
    assert rows[first.click_id].visitor_hash == rows[same_day.click_id].visitor_hash
    assert rows[first.click_id].visitor_hash != rows[next_day.click_id].visitor_hash


def test_an_unknown_username_records_nothing(db, now):
    outcome = services.record_click(
        username="nobody",
        landing_path="/",
        params=[],
        referrer="",
        user_agent=CHROME,
        ip="1.2.3.4",
        now=now,
    )
    services.flush_clicks()

    assert (outcome.affiliate, outcome.click_id, outcome.reason) == (None, None, "unknown")
    assert Click.objects.count() == 0


@needs_redis
def test_a_memoised_answer_made_stale_by_a_suspension_records_nothing(alice, now):
    # given this web process memoised alice as approved (one honoured click)
    assert _click(alice, now).honoured
    assert resolve_username_memoised("alice")[0].is_approved

    # when she is suspended and another process bumps the resolver generation (here the
    # on-commit hook does not run, so this process's memo is untouched)
    suspend_affiliate(affiliate=alice, now=now)
    selectors._redis_client().set(selectors.GENERATION_KEY, "changed-elsewhere")
    outcome = _click(alice, now)
    services.flush_clicks()

    # then the click script refused the stale answer: re-resolved, suspended, nothing recorded
    assert not outcome.honoured and outcome.click_id is None
    assert Click.objects.count() == 1


@needs_redis
def test_a_flusher_that_lost_its_lock_can_neither_take_nor_drop_a_batch(alice, now):
    # given a flusher ("old") paused past its lock's expiry, another one now owning the lock
    # with a batch of two clicks in the flushing list, and a third click still buffered
    ids = [_click(alice, now).click_id for _ in range(3)]
    client = clicks.redis_client()
    client.set(clicks.LOCK_KEY, "new", ex=clicks.LOCK_SECONDS)
    assert len(clicks._scripts["take"](keys=KEYS, args=[2, "new", clicks.LOCK_SECONDS])) == 2

    # when the old one wakes up and tries each step of its loop
    took = clicks._scripts["take"](keys=KEYS, args=[10, "old", clicks.LOCK_SECONDS])
    dropped = clicks._scripts["done"](keys=KEYS, args=["", "old", clicks.LOCK_SECONDS])
    clicks._scripts["release"](keys=KEYS, args=["", "old"])

    # then it got nothing, removed nothing and left the new owner's lock alone
    assert took is None and dropped == 0
    assert client.llen(clicks.FLUSHING_KEY) == 2 and client.llen(clicks.BUFFER_KEY) == 1
    assert client.get(clicks.LOCK_KEY) == b"new"
    # and once the new owner's lock goes, the next flush stores all three exactly once
    client.delete(clicks.LOCK_KEY)
    services.flush_clicks()
    assert sorted(Click.objects.values_list("id", flat=True)) == sorted(ids)


@pytest.fixture
def redis_down(settings):
    """The click buffer's Redis refuses connections (a closed port), then comes back."""
    settings.CLICK_BUFFER = "redis"
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    clicks.reset_redis_client()
    yield
    clicks.reset_redis_client()


def test_with_redis_down_the_redirect_still_lands_without_a_cookie(client, alice, redis_down):
    # when a visitor follows a link while Redis is unreachable
    response = client.get("/r/blog/post/alice?x=1", HTTP_USER_AGENT=CHROME)

    # then it still lands on the page (not a 500), with nothing to attribute to
    assert response.status_code == 302
    assert response["Location"].startswith("https://example.com/blog/post/?x=1")
    assert "referral" not in response.cookies
    assert not Click.objects.exists()


def test_with_redis_down_the_click_api_answers_503(alice, redis_down, api):
    response = api.post(
        "/api/v1/clicks",
        {"username": "alice", "link": "https://example.com/blog/"},
        format="json",
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"


@needs_redis
def test_the_redirect_reloads_its_script_after_redis_forgot_it(alice, now):
    # given a process that has recorded a click, then a Redis restart (its scripts are gone)
    first = _click(alice, now)
    clicks.redis_client().script_flush()

    # when the next click arrives, on the same connection
    second = _click(alice, now)

    # then it is recorded all the same (EVAL loads the script again), once
    services.flush_clicks()
    assert second.honoured and second.click_id == first.click_id + 1
    assert sorted(Click.objects.values_list("id", flat=True)) == [first.click_id, second.click_id]


@hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    at=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
    ),
    path=st.text(max_size=40),
    domain=st.text(max_size=20),
    honoured=st.booleans(),
)
def test_a_flushed_click_is_stored_exactly_as_it_was_buffered(alice, at, path, domain, honoured):
    """The flush parses the buffered items in SQL on PostgreSQL (and in Python on SQLite):
    every field comes back as the redirect wrote it — the time to the microsecond, any text
    (quotes, pipes, newlines, non-ASCII) — and an item repeated is stored once."""
    Click.objects.all().delete()
    row = {
        "at": at,
        "affiliate_id": alice.pk,
        "landing_path": path.replace("\x00", ""),  # PostgreSQL text holds no NUL
        "referrer_domain": domain.replace("\x00", ""),
        "medium": "website",
        "device": "desktop",
        "visitor_hash": "f" * 32,
        "honoured": honoured,
        "reason": "" if honoured else "bot",
    }
    item = f"7|{clicks._encode(row)}".encode()
    assert clicks._insert([item, item]) == 1
    stored = Click.objects.values(*clicks.FIELDS).get(pk=7)
    # fromtimestamp(timestamp()) is what the SQLite path stores: the buffer's own round trip
    assert stored == {**row, "at": datetime.fromtimestamp(at.timestamp(), tz=UTC)}
    assert stored["at"] == at
