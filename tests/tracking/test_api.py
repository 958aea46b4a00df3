"""Tracking API wiring: auth, status codes, the answer's shape."""

import pytest

from tracking import services
from tracking.models import Click

from .conftest import CHROME

pytestmark = pytest.mark.django_db


def test_the_click_api_records_an_honoured_click_and_gives_the_cookie(api, alice):
    response = api.post(
        "/api/v1/clicks",
        {
            "username": "alice",
            "link": "https://example.com/blog/post/alice?x=1",
            "referrer": "",
            "user_agent": CHROME,
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["affiliate"] == alice.public_id and body["honoured"]
    assert body["redirect"].startswith("https://example.com/blog/post/?x=1&utm_source=direct")
    assert body["cookie"]["value"] == alice.public_id
    services.flush_clicks()
    assert Click.objects.get(pk=body["id"]).landing_path == "/blog/post/"


def test_the_click_api_gives_the_cookies_the_same_flags_as_the_redirect(client, api, alice):
    redirect = client.get("/r/blog/post/alice", HTTP_USER_AGENT=CHROME)
    response = api.post(
        "/api/v1/clicks",
        {"username": "alice", "link": "/blog/post/", "user_agent": CHROME},
        format="json",
    )

    set_cookie = redirect.cookies["referral"]
    given = response.json()["cookie"]
    assert response.status_code == 201
    assert (given["name"], given["click_name"]) == ("referral", "referral_click")
    assert given["max_age"] == set_cookie["max-age"]
    assert given["path"] == set_cookie["path"] == "/"
    assert given["domain"] == (set_cookie["domain"] or None)
    assert given["secure"] is True and bool(set_cookie["secure"])
    assert given["httponly"] is True and bool(set_cookie["httponly"])
    assert given["samesite"] == set_cookie["samesite"] == "Lax"
    assert redirect.cookies["referral_click"]["samesite"] == "Lax"


def test_the_click_api_answers_404_json_for_an_unknown_username(api, alice):
    response = api.post("/api/v1/clicks", {"username": "nobody", "link": "/blog/"}, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_click_api_does_not_honour_an_ad_click(api, alice):
    response = api.post(
        "/api/v1/clicks", {"username": "alice", "link": "/pricing/?gclid=abc"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["affiliate"] is None and response.json()["reason"] == "ad_param"


def test_the_click_api_needs_a_key(anon_api, alice):
    response = anon_api.post("/api/v1/clicks", {"username": "alice", "link": "/"}, format="json")

    assert response.status_code in (401, 403)


def test_signups_201_then_200_with_the_same_answer(api, alice):
    payload = {"customer_id": "cus_1", "email": "carol@carol.test", "referral": alice.public_id}

    first = api.post("/api/v1/signups", payload, format="json")
    again = api.post("/api/v1/signups", payload, format="json")

    assert first.status_code == 201 and again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["affiliate"] == alice.public_id
    assert first.json()["source"] == "cookie"
    assert "alice" in first.json()["why"]


def test_signups_without_evidence_answer_source_none(api, db):
    response = api.post("/api/v1/signups", {"customer_id": "cus_2", "email": ""}, format="json")

    assert response.status_code == 201
    assert (response.json()["affiliate"], response.json()["source"]) == (None, "none")


def test_signups_reject_a_missing_customer_id(api, db):
    response = api.post("/api/v1/signups", {"email": "x@x.test"}, format="json")

    assert response.status_code == 400
    assert "customer_id" in response.json()["error"]["fields"]


def test_the_link_api_builds_links_and_refuses_off_site_urls(api, alice):
    ok = api.post(
        "/api/v1/links",
        {"affiliate": alice.public_id, "url": "https://example.com/blog/post/"},
        format="json",
    )
    off = api.post(
        "/api/v1/links", {"affiliate": "alice", "url": "https://evil.com/"}, format="json"
    )

    assert ok.status_code == 200
    assert ok.json()["url"] == "https://example.com/blog/post/alice"
    assert 'rel="sponsored noopener"' in ok.json()["html"]
    assert off.status_code == 400 and off.json()["error"]["code"] == "off_site"


def test_the_whole_flow_from_click_to_signup(client, api, alice):
    redirect = client.get("/r/blog/post/alice", HTTP_USER_AGENT=CHROME)
    services.flush_clicks()

    response = api.post(
        "/api/v1/signups",
        {
            "customer_id": "cus_3",
            "email": "dan@dan.test",
            "referral": redirect.cookies["referral"].value,
            "referral_click": redirect.cookies["referral_click"].value,
        },
        format="json",
    )

    click_id = int(redirect.cookies["referral_click"].value.split(".")[0])
    assert response.status_code == 201
    assert response.json()["click_id"] == click_id
    assert f"cookie from click {click_id} on " in response.json()["why"]
    assert "via /blog/post/alice" in response.json()["why"]
