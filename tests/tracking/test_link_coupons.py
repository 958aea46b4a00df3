"""?coupon=CODE on an affiliate's link: the redirect (Django and the fast lane alike) carries
it to the Location only when it is an active coupon of that affiliate, so the checkout can
prefill it; anything else is dropped. No query for it unless the link carries one."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import AffiliateFactory, CouponFactory

from .conftest import CHROME
from .lanes import both_ways  # noqa: F401  (`client`: each test via Django, then the lane)

pytestmark = pytest.mark.django_db


@pytest.fixture
def coupons(alice):
    CouponFactory(code="ALICE10", affiliate=alice)
    CouponFactory(code="OLD5", affiliate=alice, is_active=False)
    CouponFactory(code="BOB20", affiliate=AffiliateFactory(username="bob"))


def _query(client, url: str, **extra) -> dict[str, list[str]]:
    response = client.get(url, HTTP_USER_AGENT=CHROME, **extra)
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)


@pytest.mark.parametrize(
    ("asked", "carried"),
    [
        ("ALICE10", ["ALICE10"]),
        ("alice10", ["ALICE10"]),  # any case; the stored spelling goes out
        ("OLD5", None),  # inactive
        ("BOB20", None),  # another affiliate's
        ("NOPE", None),
        ("", None),
        ("x" * 300, None),
    ],
)
def test_only_an_active_coupon_of_the_links_affiliate_is_carried(client, coupons, asked, carried):
    query = _query(client, f"/r/pricing/alice?plan=pro&coupon={asked}")

    assert query.get("coupon") == carried
    assert query["plan"] == ["pro"]  # the rest of the query is kept


def test_a_coupon_on_an_ad_click_is_dropped(client, coupons):
    query = _query(client, "/r/pricing/alice?coupon=ALICE10&gclid=abc")

    assert "coupon" not in query


def test_the_short_link_carries_it_too(client, coupons):
    assert _query(client, "/alice?coupon=ALICE10")["coupon"] == ["ALICE10"]


def test_the_coupon_check_is_one_query_and_only_when_a_coupon_is_sent(alice, coupons):
    from django.test import Client

    client = Client()
    client.get("/r/pricing/alice", HTTP_USER_AGENT=CHROME)  # warm the username cache
    with CaptureQueriesContext(connection) as without:
        client.get("/r/pricing/alice", HTTP_USER_AGENT=CHROME)
    with CaptureQueriesContext(connection) as with_coupon:
        client.get("/r/pricing/alice?coupon=ALICE10", HTTP_USER_AGENT=CHROME)

    coupon_queries = [q for q in with_coupon.captured_queries if "coupon" in q["sql"]]
    assert len(coupon_queries) == 1
    assert not [q for q in without.captured_queries if "coupon" in q["sql"]]


def test_the_links_page_lists_the_affiliates_active_coupons_with_ready_links(settings):
    from django.test import Client

    settings.SITE_URL = "https://example.com"
    settings.SITE_HOSTS = ["example.com"]
    settings.SITE_TRAILING_SLASH = True
    carol = AffiliateFactory(username="carol")
    CouponFactory(code="CAROL15", affiliate=carol)
    CouponFactory(code="GONE", affiliate=carol, is_active=False)
    CouponFactory(code="DAVE5", affiliate=AffiliateFactory(username="dave"))
    client = Client()
    client.force_login(carol.user)

    body = client.get("/dashboard/links/?url=/pricing/").content.decode()

    assert "Your coupons" in body
    assert "https://example.com/pricing/carol?coupon=CAROL15" in body
    assert "GONE" not in body and "DAVE5" not in body
