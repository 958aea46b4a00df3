"""A webhook-stored Stripe event keeps the body's bytes and the signature header exactly as
received, so it can be verified again later (the signature is over those bytes, not over
the parsed JSON)."""

import json
from datetime import UTC, datetime

import pytest

import commissions.gateways.stripe as stripe_gateway
from commissions.models import StoredEvent
from tests.commissions.conftest import sign

T = int(datetime(2026, 11, 2, 12, 0, tzinfo=UTC).timestamp())
URL = "/webhooks/stripe/"

# Non-ASCII (UTF-8: ë, —, ü, an emoji) beside a \u escape, tabs, CRLF, spaces before a
# colon, trailing blank lines: every one of them lost by a parse and re-serialisation.
BODY = (
    b'{\n\t"id" :"evt_raw",  "object":"event","type":"customer.updated",\r\n'
    b' "created": %d, "data":{"object":{"id":"cus_raw",'
    b'"name":"Zo\xc3\xab \xe2\x80\x94 M\xc3\xbcller \xf0\x9f\x98\x80","metadata":{}}},'
    b'"note":"caf\\u00e9"   }\n\n'
) % T


def post(client, body: bytes, signature: str):
    return client.post(
        URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


@pytest.mark.django_db
def test_a_webhook_stored_event_keeps_the_exact_bytes_and_verifies_again(webhook_settings, client):
    signature = sign(BODY)

    response = post(client, BODY, signature)

    assert response.status_code == 200
    row = StoredEvent.objects.get(event_id="evt_raw")
    assert bytes(row.raw_body) == BODY
    assert row.signature == signature
    verified = stripe_gateway.construct_event(payload=bytes(row.raw_body), signature=row.signature)
    assert verified["id"] == "evt_raw"
    assert verified["data"]["object"]["name"] == "Zoë — Müller 😀"
    # What the payload column alone would give back does not verify.
    with pytest.raises(stripe_gateway.InvalidWebhook):
        stripe_gateway.construct_event(
            payload=json.dumps(row.payload).encode(), signature=signature
        )


@pytest.mark.django_db
def test_a_redelivery_keeps_the_first_bytes(webhook_settings, client):
    post(client, BODY, sign(BODY))
    again = BODY.replace(b"\n\n", b"\n")

    response = post(client, again, sign(again))

    assert response.json() == {"received": True, "duplicate": True}
    assert bytes(StoredEvent.objects.get(event_id="evt_raw").raw_body) == BODY
