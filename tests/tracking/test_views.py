"""The tracked redirect: status, Location, headers, cookie, what is recorded."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from affiliates.models import Affiliate
from tracking import clicks
from tracking.models import Click

from .conftest import CHROME
from .lanes import both_ways  # noqa: F401  (`client`: each test via Django, then the lane)

pytestmark = pytest.mark.django_db


def _get(client, url, **extra):
    extra.setdefault("HTTP_USER_AGENT", CHROME)
    return client.get(url, **extra)


def _recorded() -> list[Click]:
    clicks.flush_clicks()
    return list(Click.objects.order_by("id"))


def test_honoured_click_redirects_to_the_clean_link_with_cookie_and_utm(client, alice):
    response = _get(client, "/r/blog/post/alice?plan=pro&ref=alice&fbclid=zz")

    assert response.status_code == 302
    loc = urlsplit(response["Location"])
    assert (loc.scheme, loc.hostname, loc.path) == ("https", "example.com", "/blog/post/")
    assert parse_qs(loc.query) == {
        "plan": ["pro"],
        "utm_source": ["direct"],
        "utm_medium": ["direct"],
        "utm_campaign": ["affiliate"],
        "utm_content": ["alice"],
    }
    cookie = response.cookies["referral"]
    assert cookie.value == alice.public_id
    assert int(cookie["max-age"]) == 30 * 24 * 60 * 60
    assert cookie["path"] == "/"
    assert cookie["secure"] and cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    click_id = int(response.cookies["referral_click"].value.split(".")[0])
    [click] = _recorded()
    assert click.pk == click_id and click.honoured and click.affiliate_id == alice.pk
    assert click.landing_path == "/blog/post/" and click.device == "desktop"


def test_every_redirect_carries_the_robot_cache_and_referrer_headers(client, alice):
    for url in ("/r/blog/post/alice", "/r/blog/post/nobody", "/alice?gclid=1"):
        response = _get(client, url)

        assert response.status_code == 302
        assert response["X-Robots-Tag"] == "noindex, nofollow"
        assert response["Cache-Control"] == "no-store"
        assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("param", ["gclid", "gad_source", "gbraid", "wbraid", "msclkid", "via"])
def test_an_ad_click_param_gets_no_cookie_and_a_rejected_click(client, alice, param):
    response = _get(client, f"/r/blog/post/alice?{param}=x&plan=pro")

    assert response.status_code == 302
    assert response["Location"] == "https://example.com/blog/post/?plan=pro"
    assert "referral" not in response.cookies
    [click] = _recorded()
    assert (click.honoured, click.reason) == (False, "ad_param")


def test_an_ad_network_referrer_is_not_honoured(client, alice):
    response = _get(
        client, "/r/pricing/alice", HTTP_REFERER="https://www.googleadservices.com/pagead/aclk?x"
    )

    assert "referral" not in response.cookies
    [click] = _recorded()
    assert click.reason == "ad_referrer"


def test_a_known_bot_gets_the_redirect_but_no_cookie(client, alice):
    response = _get(
        client,
        "/r/blog/post/alice",
        HTTP_USER_AGENT="Googlebot/2.1 (+http://www.google.com/bot.html)",
    )

    assert response["Location"] == "https://example.com/blog/post/"
    assert "referral" not in response.cookies
    [click] = _recorded()
    assert (click.reason, click.device) == ("bot", "bot")


def test_unknown_and_suspended_usernames_redirect_clean_without_anything_recorded(client, alice):
    Affiliate.objects.filter(pk=alice.pk).update(status=Affiliate.Status.SUSPENDED)

    suspended = _get(client, "/r/blog/post/alice?x=1")
    unknown = _get(client, "/r/blog/post/nobody-here")

    assert suspended["Location"] == "https://example.com/blog/post/?x=1"
    assert unknown["Location"] == "https://example.com/blog/post/"
    assert "referral" not in suspended.cookies and "referral" not in unknown.cookies
    assert _recorded() == []


def test_root_short_link_goes_home_with_the_query(client, alice):
    response = _get(client, "/alice?plan=pro")

    loc = urlsplit(response["Location"])
    assert (loc.hostname, loc.path) == ("example.com", "/")
    assert parse_qs(loc.query)["plan"] == ["pro"]
    assert response.cookies["referral"].value == alice.public_id


def test_social_referrer_sets_utm_source_and_medium(client, alice):
    response = _get(client, "/r/blog/alice?utm_source=newsletter", HTTP_REFERER="https://t.co/abc")

    query = parse_qs(urlsplit(response["Location"]).query)
    # utm_source was already in the link: kept, not duplicated.
    assert query["utm_source"] == ["newsletter"]
    assert query["utm_medium"] == ["social"]
    [click] = _recorded()
    assert (click.referrer_domain, click.medium) == ("t.co", "social")


def test_first_referrer_wins_over_a_later_click(client, alice, bob):
    first = _get(client, "/r/blog/alice")
    client.cookies["referral"] = first.cookies["referral"].value

    second = _get(client, "/r/blog/bob")

    assert "referral" not in second.cookies  # the browser keeps alice's cookie
    assert len(_recorded()) == 2  # bob's click still counts as a click


def test_last_click_setting_replaces_the_cookie(client, alice, bob, settings):
    settings.ATTRIBUTION = "last_click"
    client.cookies["referral"] = alice.public_id

    response = _get(client, "/r/blog/bob")

    assert response.cookies["referral"].value == bob.public_id


def test_cookie_domain_setting_and_debug_http_drop_secure(client, alice, settings):
    settings.COOKIE_DOMAIN = ".example.com"
    settings.DEBUG = True

    response = _get(client, "/r/blog/alice")

    cookie = response.cookies["referral"]
    assert cookie["domain"] == ".example.com"
    assert not cookie["secure"]


def test_an_earlier_username_still_credits_its_affiliate(client, alice):
    from affiliates.models import Username

    Username.objects.create(name="alice-old", affiliate=alice)

    response = _get(client, "/r/blog/alice-old")

    assert response.cookies["referral"].value == alice.public_id
    assert "utm_content=alice" in response["Location"]


def test_a_cached_redirect_runs_no_select(client, alice):
    _get(client, "/r/blog/alice")  # warms the resolver cache

    with CaptureQueriesContext(connection) as queries:
        response = _get(client, "/r/blog/post/alice")

    assert response.status_code == 302
    selects = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert selects == []
    # Buffered (Redis): no query at all; without Redis: exactly the one INSERT.
    assert len(queries) == (0 if clicks.buffered() else 1)


def test_a_person_trying_the_link_with_curl_is_honoured(client, alice):
    # crawlerdetect lists curl, but settings.BOT_UA_ALLOW lets a hand-made check through
    response = client.get("/r/blog/post/alice", HTTP_USER_AGENT="curl/7.88.1")

    assert response.status_code == 302
    assert response.cookies["referral"].value == alice.public_id


def test_the_favicon_is_served_and_never_taken_for_a_username(client, alice):
    response = client.get("/favicon.ico", HTTP_USER_AGENT=CHROME)

    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # ICO header
    assert "max-age=86400" in response["Cache-Control"]
    assert _recorded() == []


@pytest.mark.parametrize("path", ["/robots.txt", "/wp-login.php", "/alice.", "/al%20ice"])
def test_the_root_short_link_takes_only_the_username_charset(client, alice, path):
    response = _get(client, path)

    assert response.status_code == 404
    assert "referral" not in response.cookies


def test_the_root_short_link_still_takes_any_case(client, alice):
    response = _get(client, "/Alice")

    assert response.status_code == 302
    assert response.cookies["referral"].value == alice.public_id
