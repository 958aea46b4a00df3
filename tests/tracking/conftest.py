import pytest
from django.conf import settings

from affiliates.models import Affiliate
from tests.factories import AffiliateFactory, UserFactory
from tracking import clicks

needs_redis = pytest.mark.skipif(
    not settings.REDIS_URL, reason="needs Redis (set REDIS_URL) for the click buffer"
)


@pytest.fixture(autouse=True)
def _fresh_click_buffer():
    # The buffer's connection pool is per process; a test's cache.clear() empties its keys.
    clicks.reset_redis_client()
    yield
    clicks.reset_redis_client()


@pytest.fixture
def alice(db) -> Affiliate:
    return AffiliateFactory(username="alice", user=UserFactory(email="alice@alice-co.test"))


@pytest.fixture
def bob(db) -> Affiliate:
    return AffiliateFactory(username="bob", user=UserFactory(email="bob@gmail.com"))


CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36"
)
