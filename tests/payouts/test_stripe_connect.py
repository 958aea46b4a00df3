"""Stripe Connect: connected accounts' events arrive at their own endpoint with their own
secret, a periodic refresh covers a missed event, and only the settings page's POST creates
Express accounts. Through the local peer over HTTP with the real `stripe` SDK."""

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from commissions.ingest import process_event
from commissions.models import StoredEvent
from config.celery import app as celery_app
from payouts import selectors, services
from payouts.gateways.registry import get_stripe_connect
from payouts.models import PayoutAccount
from tests.factories import AffiliateFactory, PayoutAccountFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pass-1234-word"
CONNECT_SECRET = "whsec_connect_test"


@pytest.fixture(autouse=True)
def _connect_secret(settings):
    settings.STRIPE_CONNECT_WEBHOOK_SECRET = CONNECT_SECRET
    settings.STRIPE_WEBHOOK_SECRET = "whsec_platform_test"


@pytest.fixture
def affiliate_client(client):
    affiliate = AffiliateFactory()
    client.force_login(affiliate.user)
    client.affiliate = affiliate
    return client


def _signed(event: dict, secret: str) -> tuple[bytes, str]:
    """Stripe's scheme: v1 = HMAC-SHA256(secret, "{t}.{raw body}")."""
    body = json.dumps(event).encode()
    t = int(time.time())
    v1 = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={t},v1={v1}"


def _account_updated(account_id: str, *, payouts_enabled: bool, event_id: str = "evt_c1"):
    return {
        "id": event_id,
        "object": "event",
        "type": "account.updated",
        "account": account_id,  # Connect events name the connected account
        "created": int(time.time()),
        "livemode": False,
        "data": {
            "object": {"id": account_id, "object": "account", "payouts_enabled": payouts_enabled}
        },
    }


def _onboarding_affiliate(account_id: str):
    affiliate = AffiliateFactory()
    PayoutAccountFactory(
        affiliate=affiliate,
        method="stripe",
        paypal_email="",
        stripe_account_id=account_id,
        stripe_payouts_enabled=False,
    )
    return affiliate


# --- The Connect endpoint -------------------------------------------------------------------


def test_account_updated_at_the_connect_endpoint_is_verified_stored_and_applied(
    client, now, stripe_account
):
    account_id = stripe_account(enabled=True)
    affiliate = _onboarding_affiliate(account_id)
    body, signature = _signed(_account_updated(account_id, payouts_enabled=True), CONNECT_SECRET)

    response = client.post(
        "/webhooks/stripe/connect/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )
    stored = StoredEvent.objects.get(event_id="evt_c1")
    outcome = process_event(event=stored, now=now)  # stage two, as the task runs it

    assert response.status_code == 200 and response.json()["duplicate"] is False
    assert outcome == "processed"
    account = PayoutAccount.objects.get(affiliate=affiliate)
    assert account.stripe_payouts_enabled is True
    assert selectors.hold_reason(affiliate=affiliate, account=account, now=now) == ""


def test_a_replayed_connect_event_is_stored_once(client):
    body, signature = _signed(_account_updated("acct_x", payouts_enabled=True), CONNECT_SECRET)

    first = client.post(
        "/webhooks/stripe/connect/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )
    again = client.post(
        "/webhooks/stripe/connect/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["duplicate"] is True
    assert StoredEvent.objects.filter(event_id="evt_c1").count() == 1


@pytest.mark.parametrize("secret", ["whsec_platform_test", "whsec_someone_else"])
def test_the_connect_endpoint_refuses_events_not_signed_with_the_connect_secret(client, secret):
    body, signature = _signed(_account_updated("acct_x", payouts_enabled=True), secret)

    response = client.post(
        "/webhooks/stripe/connect/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not StoredEvent.objects.exists()


def test_the_connect_endpoint_without_its_secret_answers_503_json(client, settings):
    settings.STRIPE_CONNECT_WEBHOOK_SECRET = ""
    body, signature = _signed(_account_updated("acct_x", payouts_enabled=True), CONNECT_SECRET)

    response = client.post(
        "/webhooks/stripe/connect/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_configured"
    assert not StoredEvent.objects.exists()


# --- The periodic refresh ---------------------------------------------------------------


def test_the_refresh_enables_an_account_whose_event_was_missed(now, peer, stripe_account):
    account_id = stripe_account(enabled=False)
    affiliate = _onboarding_affiliate(account_id)
    peer.control("stripe/account", id=account_id, payouts_enabled=True)  # no event sent

    counts = services.refresh_onboarding_accounts(now=now)

    account = PayoutAccount.objects.get(affiliate=affiliate)
    assert counts == {"checked": 1, "enabled": 1, "errors": 0}
    assert account.stripe_payouts_enabled is True and account.stripe_checked_at == now
    assert selectors.hold_reason(affiliate=affiliate, account=account, now=now) == ""


def test_the_refresh_skips_accounts_checked_recently_and_survives_an_unknown_one(
    now, peer, stripe_account
):
    recent = _onboarding_affiliate(stripe_account(enabled=False))
    PayoutAccount.objects.filter(affiliate=recent).update(
        stripe_checked_at=now - timedelta(minutes=5)
    )
    _onboarding_affiliate("acct_gone")  # Stripe answers 404 for it
    due = _onboarding_affiliate(stripe_account(enabled=False))

    counts = services.refresh_onboarding_accounts(now=now, stale_after=timedelta(minutes=30))

    assert counts == {"checked": 1, "enabled": 0, "errors": 1}
    read = sorted(k for k in peer.state()["calls"] if k.startswith("GET /v1/accounts/"))
    due_id = PayoutAccount.objects.get(affiliate=due).stripe_account_id
    assert read == sorted(["GET /v1/accounts/acct_gone", f"GET /v1/accounts/{due_id}"])
    assert PayoutAccount.objects.get(affiliate=due).stripe_checked_at == now


def test_the_refresh_runs_on_beat_as_a_registered_task():
    celery_app.loader.import_default_modules()

    entry = celery_app.conf.beat_schedule["refresh-onboarding-accounts"]

    assert entry["task"] == "payouts.refresh_onboarding_accounts"
    assert entry["task"] in celery_app.tasks


# --- Creating accounts: once, on the POST -------------------------------------------------


def test_a_get_of_the_refresh_url_never_creates_a_stripe_account(affiliate_client, peer):
    first = affiliate_client.get("/payouts/stripe/refresh/")
    second = affiliate_client.get("/payouts/stripe/refresh/")

    assert first.status_code == second.status_code == 302
    assert first["Location"].endswith("/payouts/settings/")
    assert peer.state()["accounts"] == 0
    assert not PayoutAccount.objects.exclude(stripe_account_id="").exists()


def test_the_refresh_url_makes_a_new_link_for_the_existing_account(affiliate_client, peer):
    affiliate_client.post("/payouts/settings/", {"action": "stripe", "password": PASSWORD})
    account_id = PayoutAccount.objects.get(affiliate=affiliate_client.affiliate).stripe_account_id

    again = affiliate_client.get("/payouts/stripe/refresh/")

    assert again.status_code == 302
    assert f"/_fake/connect/onboard/{account_id}" in again["Location"]
    assert peer.state()["accounts"] == 1


def test_posting_the_stripe_form_twice_creates_one_account(affiliate_client, peer):
    for _ in range(2):
        response = affiliate_client.post(
            "/payouts/settings/", {"action": "stripe", "password": PASSWORD}
        )
        assert response.status_code == 302

    account = PayoutAccount.objects.get(affiliate=affiliate_client.affiliate)
    assert account.method == "stripe" and account.stripe_account_id.startswith("acct_")
    assert peer.state()["accounts"] == 1


def test_account_creation_is_idempotent_at_stripe(peer):
    client = get_stripe_connect()

    first = client.create_account(
        email="a@example.org", country="US", affiliate_public_id="p1", idempotency_key="k1"
    )
    again = client.create_account(
        email="a@example.org", country="US", affiliate_public_id="p1", idempotency_key="k1"
    )

    assert first["id"] == again["id"]
    assert peer.state()["accounts"] == 1


def test_the_stripe_form_needs_the_csrf_token(peer):
    affiliate = AffiliateFactory()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(affiliate.user)

    response = browser.post("/payouts/settings/", {"action": "stripe", "password": PASSWORD})

    assert response.status_code == 403
    assert peer.state()["accounts"] == 0


def test_the_stripe_form_needs_the_password(affiliate_client, peer):
    response = affiliate_client.post("/payouts/settings/", {"action": "stripe", "password": "x"})

    assert response.status_code == 403
    assert peer.state()["accounts"] == 0
    assert PayoutAccount.objects.get(affiliate=affiliate_client.affiliate).method == "none"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=_json
    | st.fixed_dictionaries(
        {"id": _json, "type": _json, "created": _json, "data": _json, "account": _json}
    )
)
def test_a_signed_but_malformed_connect_body_is_a_json_400_and_stores_nothing(client, body):
    raw, signature = _signed(body, CONNECT_SECRET)
    well_formed = (
        isinstance(body, dict)
        and isinstance(body.get("id"), str)
        and 0 < len(body["id"]) <= 255
        and isinstance(body.get("type"), str)
        and type(body.get("created", 0)) is int
        and 0 <= body.get("created", 0) < 2**33
    )
    before = StoredEvent.objects.count()

    response = client.post(
        "/webhooks/stripe/connect/",
        raw,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )

    if well_formed:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert set(response.json()["error"]) == {"code", "message", "fields"}
        assert StoredEvent.objects.count() == before
