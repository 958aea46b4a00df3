"""The fast lane (tracking.fastlane) answers the redirect as Django's stack did, and hands
everything else to Django: same status, headers and cookies; the same answer for any path
another route owns, an unknown Host, plain http under SECURE_SSL_REDIRECT, other methods."""

import re

import pytest
from django.urls import resolve

from affiliates.usernames import reserved_usernames
from tracking import clicks, views
from tracking.fastlane import FastLane
from tracking.models import Click

from .conftest import CHROME, needs_redis
from .lanes import LaneClient

pytestmark = pytest.mark.django_db

# What the middleware adds that the lane leaves out on purpose (see tracking.fastlane).
NOT_COPIED = {"vary", "content-language"}


def _both(url, **extra):
    extra.setdefault("HTTP_USER_AGENT", CHROME)
    django = LaneClient(django_only=True).request("GET", url, **extra)
    lane = LaneClient().request("GET", url, **extra)
    return django, lane


def _normalised(response):
    """Headers as a comparable list: the click id and the times in cookies vary per click."""
    out = []
    for name, value in response.header_list:
        if name.lower() in NOT_COPIED:
            continue
        value = re.sub(r"referral_click=\d+\.\d+", "referral_click=ID.TIME", value.strip())
        value = re.sub(r"expires=[^;]+", "expires=WHEN", value)
        out.append((name.lower(), value))
    return sorted(out)


@pytest.mark.parametrize(
    "url",
    ["/r/blog/post/alice?plan=pro&gclid=", "/r/blog/alice", "/alice", "/Alice/", "/r/x/nobody"],
)
@pytest.mark.parametrize("https", [False, True])
def test_the_lane_answers_with_djangos_status_headers_and_cookie_flags(alice, settings, url, https):
    # Production's security settings, behind a TLS proxy when https
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = settings.SECURE_HSTS_PRELOAD = True
    settings.DEBUG = False
    extra = {"HTTP_X_FORWARDED_PROTO": "https"} if https else {}

    django, lane = _both(url, **extra)

    assert not lane.via_django
    assert lane.status_code == django.status_code == 302
    assert _normalised(lane) == _normalised(django)
    assert ("Strict-Transport-Security" in lane) is https
    if https:
        assert lane["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert lane["X-Content-Type-Options"] == "nosniff"


def test_a_head_request_is_a_recorded_redirect_as_before(alice):
    response = LaneClient().head("/r/blog/alice", HTTP_USER_AGENT=CHROME)

    assert (response.status_code, response.via_django) == (302, False)
    assert response.cookies["referral"].value == alice.public_id
    clicks.flush_clicks()
    assert Click.objects.filter(affiliate=alice).count() == 1


def test_a_tls_proxy_saying_http_is_plain_http(alice, settings):
    settings.SECURE_SSL_REDIRECT = True

    django, lane = _both("/r/blog/alice", HTTP_X_FORWARDED_PROTO="http, https")

    assert lane.via_django  # Django's own 301 to https
    assert lane.status_code == django.status_code == 301
    assert lane["Location"] == "https://testserver/r/blog/alice"


@pytest.mark.parametrize(
    ("method", "status"), [("POST", 403), ("PUT", 403), ("DELETE", 403), ("OPTIONS", 302)]
)
def test_other_methods_get_djangos_answer(alice, method, status):
    response = LaneClient().request(method, "/r/blog/alice", HTTP_USER_AGENT=CHROME)

    assert response.via_django
    assert response.status_code == status  # CSRF refuses the unsafe ones; OPTIONS: the view


def test_a_host_django_refuses_is_refused_the_same(alice):
    django, lane = _both("/r/blog/alice", HTTP_HOST="evil.example")

    assert lane.via_django
    assert lane.status_code == django.status_code == 400
    clicks.flush_clicks()
    assert not Click.objects.exists()


def test_every_one_segment_path_goes_where_djangos_resolver_sends_it(alice):
    lane = FastLane(lambda environ, start_response: None)
    names = sorted(reserved_usernames()) + ["alice", "nobody-here", "admin", "r", "api", "x"]

    for name in names:
        for path in (f"/{name}", f"/{name}/"):
            if not re.fullmatch(r"/[A-Za-z0-9_-]+/?", path):
                continue
            expected_lane = resolve(path).func is views.short_link
            taken = lane._target({"PATH_INFO": path}) is not None

            assert taken is expected_lane, path


def test_a_route_of_the_site_keeps_its_view(alice):
    response = LaneClient().get("/healthz/live")

    assert response.via_django and response.status_code == 200 and response.content == b"ok"


def test_the_wsgi_entry_point_is_the_lane_in_front_of_django():
    from config import wsgi

    assert isinstance(wsgi.application, FastLane)
    assert wsgi.application.django_app is wsgi.django_application


@needs_redis
def test_django_request_signals_are_sent_only_for_a_click_that_needs_the_database(alice, settings):
    """The hot path (a name Redis already resolved, a buffered click) touches no database and
    sends no request signals; a click that needs the database (the name's first click in a
    generation, a ?coupon= link) gets request_started before it and request_finished after,
    as Django's handler sends them."""
    from django.core import signals

    settings.CLICK_BUFFER = "redis"
    events: list[str] = []

    def started(**kwargs):
        events.append("started")

    def finished(**kwargs):
        events.append("finished")

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        lane = LaneClient()
        first = lane.get("/r/blog/alice", HTTP_USER_AGENT=CHROME)  # resolves alice: database
        assert events == ["started", "finished"]
        events.clear()
        second = lane.get("/r/blog/alice", HTTP_USER_AGENT=CHROME)  # Redis only
        assert events == []
        coupon = lane.get("/r/blog/alice?coupon=NONE", HTTP_USER_AGENT=CHROME)
        assert events == ["started", "finished"]
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    # and every one of them was a recorded, honoured redirect
    assert [r.status_code for r in (first, second, coupon)] == [302, 302, 302]
    clicks.flush_clicks()
    assert Click.objects.filter(affiliate=alice, honoured=True).count() == 3
