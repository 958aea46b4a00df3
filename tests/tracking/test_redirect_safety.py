"""Redirect safety, property-tested: whatever the path, username and query, the answer is a
302 whose Location is on SITE_HOSTS (never a 5xx, never off-site)."""

from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from .conftest import CHROME
from .lanes import both_ways  # noqa: F401  (`client`: each test via Django, then the lane)

pytestmark = pytest.mark.django_db

NASTY = [
    "//evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "%2F%2Fevil.com",
    "%5C%5Cevil.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "http://evil.com",
    "https:evil.com",
    "\x00",
    "\r\nLocation: https://evil.com",
    "..",
    "%2e%2e",
    "@evil.com",
    "evil.com@",
    "\u2028",
    "%00",
    "%0d%0a",
    "?",
    "#",
    "alice",
]
segment = st.one_of(st.sampled_from(NASTY), st.text(max_size=12))
path = st.lists(segment, min_size=0, max_size=4).map(lambda segs: "/".join(segs))
query = st.one_of(
    st.sampled_from(["", "next=//evil.com", "gclid=1", "a=%0d%0a", "ref=alice&utm_source=x"]),
    st.text(max_size=30),
)


def _assert_on_site(response):
    assert response.status_code == 302, response.status_code
    location = response["Location"]
    parts = urlsplit(location)
    assert parts.scheme in ("http", "https")
    assert parts.hostname in settings.SITE_HOSTS
    assert location.startswith(settings.SITE_URL + "/")
    assert "\\" not in location and "\n" not in location and "\r" not in location


@hsettings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(p=path, username=st.one_of(st.just("alice"), st.text(max_size=12)), q=query)
def test_the_redirect_never_leaves_the_site_and_never_errors(client, alice, p, username, q):
    url = "/r/" + quote(f"{p}/{username}".lstrip("/") or "x", safe="/") + "?" + quote(q, safe="=&")

    response = client.get(
        url,
        HTTP_USER_AGENT=CHROME,
        HTTP_X_FORWARDED_HOST="evil.com",
        HTTP_REFERER="https://evil.com/",
    )

    _assert_on_site(response)


@pytest.mark.parametrize("nasty", NASTY[:-1])
def test_each_known_trick_falls_back_on_site(client, alice, nasty):
    for url in (
        "/r/" + quote(nasty, safe="/%:@") + "/alice",
        "/r/" + quote(nasty, safe="") + "/x/alice",
        "/r//" + quote(nasty, safe="") + "/alice",
    ):
        response = client.get(url, HTTP_USER_AGENT=CHROME)

        _assert_on_site(response)


def test_a_protocol_relative_path_goes_home(client, alice):
    response = client.get("/r//evil.com/alice", HTTP_USER_AGENT=CHROME)

    assert response["Location"].startswith("https://example.com/?")
    assert response.cookies["referral"].value == alice.public_id


@hsettings(max_examples=1500, deadline=None)
@given(
    segments=st.lists(segment, max_size=4),
    params=st.lists(st.tuples(st.text(max_size=8), st.text(max_size=12)), max_size=5),
    site=st.sampled_from(
        [
            "https://example.com",
            "https://example.com/app",
            "http://Example.com:8080",
            "https://evil.com",
        ]
    ),
)
def test_build_location_is_the_urlencode_and_is_site_url_recipe(segments, params, site):
    """links.build_location quotes with a memo and checks a memoised prefix; it must give
    exactly what urlencode + is_site_url on the whole location give (the recipe it replaced),
    for every path, query and SITE_URL (one of them off SITE_HOSTS: always home)."""
    from urllib.parse import urlencode

    from django.test import override_settings

    from tracking import links

    with override_settings(SITE_URL=site, SITE_HOSTS=["example.com"]):
        path = links.landing_path(links.safe_segments(segments))
        location = site + path + ("?" + urlencode(params, quote_via=quote) if params else "")
        ok = location.startswith(site + "/") and links.is_site_url(location)
        expected = location if ok else links.home_url()
        assert links.build_location(path, params) == expected
