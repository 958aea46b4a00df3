"""The username resolver behind the redirect: memoised per process, shared through Redis,
always current after a username or status change."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from affiliates import selectors
from affiliates.selectors import forget_usernames, resolve_username
from tests.factories import AffiliateFactory

pytestmark = pytest.mark.django_db
needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (set REDIS_URL)")


def test_a_memoised_answer_costs_no_query():
    AffiliateFactory(username="alice")
    resolve_username("alice")

    with CaptureQueriesContext(connection) as queries:
        resolved = resolve_username("ALICE")

    assert resolved.username == "alice"
    assert len(queries) == 0


@needs_redis
def test_another_process_finds_the_answer_in_redis_without_a_select():
    # given one web process resolved alice (answer stored under the current generation)
    AffiliateFactory(username="alice")
    resolve_username("alice")

    # when a second process (empty memo) resolves her
    selectors._memo.clear()
    with CaptureQueriesContext(connection) as queries:
        resolved = resolve_username("alice")

    # then Redis answered: no SELECT
    assert resolved.username == "alice"
    assert len(queries) == 0


def test_a_change_elsewhere_is_seen_by_every_process_at_once(now):
    # given alice resolved (memo and, with Redis, the shared hash)
    affiliate = AffiliateFactory(username="alice")
    assert resolve_username("alice").is_approved

    # when another process suspends her and bumps the generation (here: the same call)
    type(affiliate).objects.filter(pk=affiliate.pk).update(status="suspended")
    forget_usernames(["alice"])

    # then the next resolution reads the database again
    assert resolve_username("alice").status == "suspended"
