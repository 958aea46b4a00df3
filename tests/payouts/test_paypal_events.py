"""A stored PayPal webhook keeps the bytes as received and their transmission headers, so it
can be verified again later."""

import pytest

from payouts.gateways.registry import get_paypal
from payouts.models import PayPalEvent

pytestmark = pytest.mark.django_db


def test_the_webhook_stores_the_raw_body_and_headers_and_they_verify_again(client, peer):
    # bytes whose parsed form re-serialises differently (spacing, key order, an escape)
    body, headers = peer.signed_webhook(
        {"id": "WH-RAW", "event_type": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", "resource": {}}
    )
    body = body.replace(b'", "', b'",   "').replace(b"SUCCEEDED", b"SUCC\\u0045EDED")
    headers["HTTP_PAYPAL_TRANSMISSION_SIG"] = peer.server.state.sign(
        headers["HTTP_PAYPAL_TRANSMISSION_ID"], body
    )

    response = client.post("/webhooks/paypal/", body, content_type="application/json", **headers)

    assert response.status_code == 200
    stored = PayPalEvent.objects.get(event_id="WH-RAW")
    assert bytes(stored.raw_body) == body
    assert stored.body["event_type"] == "PAYMENT.PAYOUTS-ITEM.SUCCEEDED"
    assert stored.headers["Paypal-Transmission-Id"] == headers["HTTP_PAYPAL_TRANSMISSION_ID"]
    assert get_paypal().verify_webhook(headers=stored.headers, body=bytes(stored.raw_body))
