"""Mobile app installs: GET /r/claim-code (CORS for the site, the visitor's cookie only) and
the signups API's `referral_code` (single-use, expiring, attributed like the cookie)."""

from __future__ import annotations

import itertools
import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from affiliates.usernames import reserved_usernames, validate_username
from config.errors import ServiceError
from tests.factories import AffiliateFactory
from tracking import clicks
from tracking.models import ClaimCode, Referral
from tracking.services import claim_codes

from .conftest import CHROME
from .lanes import LaneClient, both_ways  # noqa: F401  (`client`: via Django, then the lane)

pytestmark = pytest.mark.django_db

SITE = "https://example.com"
CODE_RE = re.compile(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}")


def _get(client, url: str, **extra):
    """GET through either door; the lane's get() insists /r/ is a redirect, so ask it raw."""
    extra.setdefault("HTTP_USER_AGENT", CHROME)
    if isinstance(client, LaneClient):
        return client.request("GET", url, **extra)
    return client.get(url, **extra)


def _click(client, alice) -> None:
    """Click alice's tracked link and keep its two cookies in the client's jar."""
    response = _get(client, "/r/blog/post/alice")
    assert response.status_code == 302
    for name in ("referral", "referral_click"):
        client.cookies[name] = response.cookies[name].value
    assert client.cookies["referral"].value == alice.public_id


def _options(client, url: str, **extra):
    if isinstance(client, LaneClient):
        return client.request("OPTIONS", url, **extra)
    return client.options(url, **extra)


def _claim(client, origin: str = SITE):
    return _get(client, "/r/claim-code", HTTP_ORIGIN=origin)


def _signup(api, customer_id: str, code: str, email: str = "carol@carol.test"):
    return api.post(
        "/api/v1/signups",
        {"customer_id": customer_id, "email": email, "referral_code": code},
        format="json",
    )


def test_a_tracked_click_becomes_a_claim_code_that_attributes_the_app_signup(client, api, alice):
    _click(client, alice)

    response = _claim(client)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SITE
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response["Vary"]
    assert response["Cache-Control"] == "no-store"
    if isinstance(client, LaneClient):
        assert response.via_django  # ordinary Django, never the redirect's fast lane
    code = json.loads(response.content)["code"]
    assert CODE_RE.fullmatch(code)
    assert alice.public_id not in response.content.decode()  # never the cookie itself

    clicks.flush_clicks()
    signup = _signup(api, "app_cus_1", code)

    assert signup.status_code == 201
    answer = signup.json()
    assert answer["affiliate"] == alice.public_id
    assert answer["source"] == "cookie"  # the cookie's path: same rules, same trail
    assert answer["attribution"] == {"source": "referral_code", "reason": ""}
    referral = Referral.objects.get(customer_id="app_cus_1")
    assert referral.affiliate == alice
    assert referral.click_id == int(client.cookies["referral_click"].value.split(".")[0])
    assert f"claim code {code}" in referral.why
    assert ClaimCode.objects.get(code=code).customer_id == "app_cus_1"


def test_the_same_cookie_gets_the_same_unused_code_back(client, alice):
    _click(client, alice)

    first, second = _claim(client), _claim(client)

    assert first.content == second.content
    assert ClaimCode.objects.count() == 1


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.test",
        "https://example.com.evil.test",
        "http://example.com",  # plain http outside DEBUG: a network attacker's origin
        "https://example.com/path",
        "null",
        "",
    ],
)
def test_a_disallowed_origin_gets_no_cors_headers(client, alice, origin):
    _click(client, alice)

    response = _claim(client, origin)

    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Credentials" not in response
    assert "Origin" in response["Vary"]  # a cache must not hand one origin's answer to another
    assert response["Cache-Control"] == "no-store"


def test_the_preflight_answers_the_site_and_nobody_else(client, alice):
    allowed = _options(
        client,
        "/r/claim-code",
        HTTP_ORIGIN=SITE,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    refused = _options(
        client,
        "/r/claim-code",
        HTTP_ORIGIN="https://evil.test",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    )

    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == SITE
    assert allowed["Access-Control-Allow-Credentials"] == "true"
    assert "GET" in allowed["Access-Control-Allow-Methods"]
    assert allowed["Access-Control-Allow-Headers"] == "content-type"
    assert "Access-Control-Allow-Origin" not in refused
    assert "Access-Control-Allow-Methods" not in refused


@pytest.mark.parametrize("cookie", [None, "zz", "nobody-here-123"])
def test_no_or_invalid_cookie_is_a_404_with_a_reason(client, alice, cookie):
    if cookie is not None:
        client.cookies["referral"] = cookie

    response = _claim(client)

    assert response.status_code == 404
    error = json.loads(response.content)["error"]
    assert error["code"] == "no_referral" and error["message"]
    assert response["Access-Control-Allow-Origin"] == SITE  # the site may read the reason
    assert response["Cache-Control"] == "no-store"
    assert not ClaimCode.objects.exists()


def test_a_not_approved_affiliates_cookie_gets_no_code(client):
    pending = AffiliateFactory(username="penny", status="pending")
    client.cookies["referral"] = pending.public_id

    assert _claim(client).status_code == 404


def test_an_expired_code_attributes_nobody_and_says_so(api, alice, now):
    claim = claim_codes.issue_claim_code(
        referral=alice.public_id, referral_click=None, now=timezone.now()
    )
    ClaimCode.objects.filter(pk=claim.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = _signup(api, "app_cus_2", claim.code)

    assert response.status_code == 201  # the signup itself succeeds
    assert response.json()["affiliate"] is None
    assert response.json()["attribution"] == {"source": None, "reason": "referral_code expired"}
    assert "referral_code expired" in Referral.objects.get(customer_id="app_cus_2").why


def test_a_code_lives_claim_code_days(alice, now, settings):
    settings.CLAIM_CODE_DAYS = 3

    claim = claim_codes.issue_claim_code(referral=alice.public_id, referral_click=None, now=now)

    assert claim.expires_at == now + timedelta(days=3)


def test_an_unknown_code_attributes_nobody_and_says_so(api, alice):
    response = _signup(api, "app_cus_3", "ABCDEFGH")

    assert response.status_code == 201
    assert response.json()["affiliate"] is None
    assert response.json()["attribution"] == {"source": None, "reason": "referral_code unknown"}


def test_a_used_code_cannot_attribute_another_customer(api, alice, now):
    claim = claim_codes.issue_claim_code(
        referral=alice.public_id, referral_click=None, now=timezone.now()
    )
    first = _signup(api, "app_cus_4", claim.code)

    second = _signup(api, "app_cus_5", claim.code.lower())  # however it is spelled

    assert first.json()["affiliate"] == alice.public_id
    assert second.status_code == 201
    assert second.json()["affiliate"] is None
    assert second.json()["attribution"] == {
        "source": None,
        "reason": "referral_code already used",
    }


def test_a_repeat_signup_call_keeps_its_answer_and_spends_no_code(api, alice, bob, now):
    _signup(api, "app_cus_6", "ABCDEFGH")
    claim = claim_codes.issue_claim_code(
        referral=bob.public_id, referral_click=None, now=timezone.now()
    )

    repeat = _signup(api, "app_cus_6", claim.code)

    assert repeat.status_code == 200 and repeat.json()["affiliate"] is None
    assert repeat.json()["attribution"]["reason"] == (
        "customer already reported (first referrer wins)"
    )
    assert ClaimCode.objects.get(pk=claim.pk).used_at is None


def test_a_code_follows_the_self_referral_rule(api, alice, now):
    claim = claim_codes.issue_claim_code(
        referral=alice.public_id, referral_click=None, now=timezone.now()
    )

    response = _signup(api, "app_cus_7", claim.code, email="boss@alice-co.test")

    assert response.json()["affiliate"] is None
    assert "self-referral" in response.json()["attribution"]["reason"]


def test_a_real_cookie_comes_before_a_code(api, alice, bob, now):
    claim = claim_codes.issue_claim_code(
        referral=bob.public_id, referral_click=None, now=timezone.now()
    )

    response = api.post(
        "/api/v1/signups",
        {"customer_id": "web_1", "referral": alice.public_id, "referral_code": claim.code},
        format="json",
    )

    assert response.json()["affiliate"] == alice.public_id
    assert response.json()["attribution"] == {
        "source": "cookie",
        "reason": "referral_code not needed: the cookie came first",
    }


def test_claim_code_can_never_be_a_username():
    assert "claim-code" in reserved_usernames()
    for name in ("claim-code", "Claim-Code", "claim_code", "c1aimcode"):
        with pytest.raises(ServiceError):
            validate_username(name)


def test_a_username_claim_code_would_not_reach_the_redirect(client, alice):
    # Even were the name held (it cannot be), /r/claim-code is the endpoint, not a link.
    AffiliateFactory.create()  # another affiliate, to be sure nothing resolves by accident

    response = _claim(client)

    assert response.status_code == 404 and "Location" not in response


_customers = itertools.count()


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    code=st.one_of(
        st.text(max_size=80),
        st.text(alphabet=claim_codes.ALPHABET + "01OIL-_ ", min_size=6, max_size=12),
        st.from_regex(r"\A[2-9A-Z]{8}\Z"),
    )
)
def test_no_referral_code_value_errs_or_attributes(api, alice, now, code):
    # A live code of alice's exists: a guess must still attribute nobody.
    claim_codes.issue_claim_code(referral=alice.public_id, referral_click="1.1", now=timezone.now())
    customer = f"sweep_{next(_customers)}"

    response = _signup(api, customer, code)

    assert response.status_code in (200, 201, 400), response.content
    if response.status_code != 400:
        assert response.json()["affiliate"] is None
    else:
        assert not Referral.objects.filter(customer_id=customer).exists()
