"""Every error under /api/ and /webhooks/ is `{"error": {"code", "message", "fields"}}` with a
4xx (a 5xx only for our own crash, and then JSON too); pages elsewhere stay HTML. Each case
below was a 500 or an HTML page on main."""

import hashlib
import hmac
import json
import threading
import time

import pytest
from django.apps import apps
from django.db import connection, connections, transaction

from tracking.models import Referral

STRIPE_SECRET = "whsec_errors_test"


def _count_rows() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_models() if m._meta.managed}


def assert_json_error(response, status: int | tuple[int, ...]) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    return error


def stripe_sign(body: bytes, secret: str = STRIPE_SECRET) -> str:
    t = int(time.time())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


@pytest.mark.django_db
def test_json_nested_deeper_than_the_parser_recursion_limit_is_a_400(api):
    body = "[" * 100_000 + "]" * 100_000  # 200 kB, under the size limit

    response = api.post("/api/v1/signups", body, content_type="application/json")

    error = assert_json_error(response, 400)
    assert error["code"] == "parse_error"
    assert not Referral.objects.exists()


@pytest.mark.django_db
def test_a_parse_error_never_quotes_the_decoder(api):
    response = api.post("/api/v1/payments", b'{"payment_id": ', content_type="application/json")

    error = assert_json_error(response, 400)
    assert "Expecting" not in error["message"] and "char" not in error["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/affiliates/ab%00cd",
        "/api/v1/commissions?affiliate=%00",
        "/api/v1/affiliates?q=a%00b",
        "/api/v1/payouts?affiliate=x%01",
    ],
)
def test_nul_and_control_characters_in_paths_and_queries_are_a_400(api, url):
    response = api.get(url)

    error = assert_json_error(response, 400)
    assert error["code"] == "invalid_characters"


@pytest.mark.django_db
def test_an_email_over_254_characters_is_a_field_error(api):
    email = "a" * 64 + "@" + ".".join(["b" * 63] * 3) + ".com"  # 64 + 1 + 191 + 4 = 260

    response = api.post("/api/v1/signups", {"customer_id": "c-long", "email": email}, format="json")

    error = assert_json_error(response, 400)
    assert "email" in error["fields"]
    assert not Referral.objects.exists()


@pytest.mark.django_db
def test_a_click_link_with_a_broken_ipv6_host_is_a_field_error(api):
    response = api.post(
        "/api/v1/clicks", {"username": "alice", "link": "http://[::1"}, format="json"
    )

    error = assert_json_error(response, 400)
    assert "link" in error["fields"]


@pytest.mark.django_db
def test_a_body_over_the_size_limit_is_a_413_in_json(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"customer_id": "c1", "plan": "x" * 2000})

    response = api.post("/api/v1/signups", body, content_type="application/json")

    error = assert_json_error(response, 413)
    assert error["code"] == "too_large"
    assert not Referral.objects.exists()


@pytest.mark.django_db
def test_a_webhook_body_over_the_size_limit_is_a_413_in_json(client, settings):
    # request.body raised RequestDataTooBig, which Django answers with its HTML 400 page.
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_SECRET
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"id": "evt_big", "type": "x", "pad": "x" * 2000}).encode()

    response = client.post(
        "/webhooks/stripe/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_sign(body),
    )

    assert_json_error(response, 413)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/affiliates/a/b/c", "/webhooks/nope/"])
def test_unknown_api_and_webhook_paths_are_a_json_404(api, path):
    error = assert_json_error(api.get(path), 404)

    assert error["code"] == "not_found"


@pytest.mark.django_db
def test_a_wrong_method_on_a_webhook_is_a_json_405_with_allow(client):
    response = client.get("/webhooks/stripe/")

    assert_json_error(response, 405)
    assert response["Allow"] == "POST"


@pytest.mark.django_db
def test_pages_outside_the_api_keep_html_errors(client):
    response = client.get("/dashboard/nope/does/not/exist/")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.urls("tests.config.urls_crash")
@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/_crash", "/webhooks/_crash/"])
def test_a_crash_under_the_api_is_a_json_500_without_internal_text(client, path):
    client.raise_request_exception = False

    response = client.post(path, {})

    error = assert_json_error(response, 500)
    assert error["code"] == "server_error"
    assert "secret" not in response.content.decode() and "postgres" not in error["message"]


@pytest.mark.urls("tests.config.urls_crash")
@pytest.mark.django_db
def test_a_crash_of_a_page_stays_an_html_500(client):
    client.raise_request_exception = False

    response = client.get("/_crash/")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


# --- signed but malformed webhook bodies ----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'"evt"',
        b"42",
        b"null",
        b'{"type": "invoice.paid"}',
        b'{"id": {"x": 1}, "type": "invoice.paid"}',
        b'{"id": "evt_1", "type": ["invoice.paid"]}',
        b'{"id": "evt_1", "type": "invoice.paid", "created": "yesterday"}',
        json.dumps({"id": "e" * 256, "type": "invoice.paid"}).encode(),
        b"[" * 50_000 + b"]" * 50_000,
        # Python's json reads these JavaScript constants; no JSON column can store them.
        b'{"id": "evt_1", "type": "invoice.paid", "data": {"object": {"amount_paid": NaN}}}',
        b'{"id": "evt_1", "type": "invoice.paid", "created": 1, "x": Infinity}',
        b'{"id": "evt_1", "type": "invoice.paid", "created": 1, "x": -Infinity}',
    ],
)
def test_a_validly_signed_malformed_stripe_body_is_a_400_and_stores_nothing(client, settings, body):
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_SECRET
    before = _count_rows()

    response = client.post(
        "/webhooks/stripe/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_sign(body),
    )

    assert_json_error(response, 400)
    assert _count_rows() == before


@pytest.mark.django_db
def test_a_stripe_signature_error_does_not_quote_the_sdk(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_SECRET
    body = json.dumps({"id": "evt_1", "type": "invoice.paid", "created": 1}).encode()

    response = client.post(
        "/webhooks/stripe/",
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_sign(body, secret="whsec_other"),
    )

    error = assert_json_error(response, 400)
    assert error["code"] == "invalid_signature"
    assert "expected signature" not in error["message"]


@pytest.fixture
def paypal_peer(settings):
    from devtools import peers

    server = peers.start_in_thread(webhook_id="WH-ERRORS")
    settings.PAYPAL_CLIENT_ID = "fake-client"
    settings.PAYPAL_CLIENT_SECRET = "fake-secret"
    settings.PAYPAL_MODE = "sandbox"
    settings.PAYPAL_API_BASE = server.base_url
    settings.PAYPAL_WEBHOOK_ID = "WH-ERRORS"
    yield server
    server.shutdown()
    server.server_close()


def paypal_headers(server, body: bytes) -> dict[str, str]:
    transmission_id = server.state.next_id("TR")
    return {
        "HTTP_PAYPAL_TRANSMISSION_ID": transmission_id,
        "HTTP_PAYPAL_TRANSMISSION_TIME": "2026-11-02T12:00:00Z",
        "HTTP_PAYPAL_TRANSMISSION_SIG": server.state.sign(transmission_id, body),
        "HTTP_PAYPAL_CERT_URL": "https://fake.paypal.local/cert.pem",
        "HTTP_PAYPAL_AUTH_ALGO": "SHA256withRSA",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'"WH-1"',
        b'{"event_type": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED"}',
        b'{"id": 7, "event_type": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED"}',
        json.dumps({"id": "W" * 65, "event_type": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED"}).encode(),
        json.dumps({"id": "WH-1", "event_type": "P" * 65}).encode(),
        b"[" * 50_000 + b"]" * 50_000,
        b'{"id": "WH-1", "event_type": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", "x": NaN}',
    ],
)
def test_a_validly_signed_malformed_paypal_body_is_a_400_and_stores_nothing(
    client, paypal_peer, body
):
    before = _count_rows()

    response = client.post(
        "/webhooks/paypal/",
        body,
        content_type="application/json",
        **paypal_headers(paypal_peer, body),
    )

    assert_json_error(response, 400)
    assert _count_rows() == before


@pytest.mark.django_db
def test_a_paypal_webhook_with_a_bad_signature_is_a_json_400(client, paypal_peer):
    body = json.dumps({"id": "WH-2", "event_type": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED"}).encode()
    headers = {**paypal_headers(paypal_peer, body), "HTTP_PAYPAL_TRANSMISSION_SIG": "0" * 64}

    response = client.post("/webhooks/paypal/", body, content_type="application/json", **headers)

    error = assert_json_error(response, 400)
    assert error["code"] == "invalid_signature"


# --- concurrent signups sharing a new Stripe customer ----------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_signups_sharing_a_new_stripe_customer_get_one_201_and_one_409(api):
    # Given another signup for cus_shared whose INSERT is done but not yet committed: our
    # call's "already linked?" check cannot see it, and our INSERT waits on the unique index.
    inserted, release = threading.Event(), threading.Event()

    def other_signup():
        try:
            with transaction.atomic():
                Referral.objects.create(
                    customer_id="c-first",
                    stripe_customer_id="cus_shared",
                    created_at="2026-11-02T12:00:00Z",
                )
                inserted.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_signup)
    thread.start()
    assert inserted.wait(30)

    def commit_once_we_wait_on_the_lock():
        # Deterministic: commit only when our INSERT is blocked behind the other one.
        try:
            with connection.cursor() as cursor:
                for _ in range(300):
                    cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                    if cursor.fetchone()[0]:
                        break
                    time.sleep(0.02)
        finally:
            release.set()
            connection.close()

    watcher = threading.Thread(target=commit_once_we_wait_on_the_lock)
    watcher.start()

    # When our signup for another customer with the same Stripe customer goes in
    response = api.post(
        "/api/v1/signups",
        {"customer_id": "c-second", "stripe_customer_id": "cus_shared"},
        format="json",
    )
    watcher.join(30)
    thread.join(30)

    # Then it is the same 409 as when the two come one after the other, and the first stands
    error = assert_json_error(response, 409)
    assert "stripe_customer_id" in error["fields"]
    assert list(Referral.objects.values_list("customer_id", flat=True)) == ["c-first"]
