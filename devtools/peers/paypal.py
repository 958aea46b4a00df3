"""The PayPal Payouts half of the local peer: OAuth, `POST /v1/payments/payouts` (a repeated
sender_batch_id is rejected with HTTP 400 USER_BUSINESS_ERROR and a HATEOAS link to the
original batch, as PayPal does), `GET /v1/payments/payouts/<batch>`,
`GET /v1/payments/payouts-item/<item>`, `POST /v1/notifications/verify-webhook-signature`,
and signed `PAYMENT.PAYOUTS*` webhooks to `webhook_url`.

Control: `paypal/outcome` {"receiver", "status"}: items to that e-mail get that status;
`paypal/item_status` {"sender_item_id", "status", "emit"}: change an existing item (UNCLAIMED
→ RETURNED after 30 days), optionally sending its webhook; `paypal/lose_batch`
{"sender_batch_id"}: the batch stays "used" (a repeat is still rejected as a duplicate) but
reading it answers 404, as for a batch this client cannot see — the case where the original
of a duplicate cannot be found.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.request
from decimal import Decimal
from typing import Any

from config.money import exponent, to_decimal_string
from devtools.peers.base import PeerRequest, Reply, StateBase

FINAL_ITEM_STATES = {"SUCCESS", "FAILED", "RETURNED", "BLOCKED", "REFUNDED", "REVERSED", "DENIED"}
# Paths PayPal answers (the rest of the peer is Stripe): a failure injected there gets
# PayPal's error shape.
PATH_PREFIXES = ("/v1/payments", "/v1/oauth2")


def server_error() -> dict[str, Any]:
    # PayPal: "If you receive an HTTP 5nn status code, you can safely retry the request
    # with the same sender_batch_id" (payouts-post, Notes) — a 5xx here did nothing.
    return {"name": "INTERNAL_SERVICE_ERROR", "message": "fake 5xx"}


class PayPalState(StateBase):
    base_url: str  # set by the server once bound (HATEOAS links are absolute)
    webhook_id: str
    webhook_url: str

    def reset_paypal(self) -> None:
        with self.lock:
            self.batches: dict[str, dict] = {}  # provider batch id → batch
            self.batch_by_sender: dict[str, str] = {}
            self.lost_batches: set[str] = set()  # provider batch ids that read as 404
            self.items: dict[str, dict] = {}  # payout_item_id → item
            self.outcomes: dict[str, str] = {}  # receiver e-mail → item status
            self.signatures: dict[str, str] = {}  # transmission id → signature issued

    def sign(self, transmission_id: str, body: bytes) -> str:
        sig = hmac.new(self.webhook_id.encode(), transmission_id.encode() + body, hashlib.sha256)
        self.signatures[transmission_id] = sig.hexdigest()
        return sig.hexdigest()

    def batch_view(self, batch_id: str, with_items: bool = True) -> dict[str, Any]:
        batch = self.batches[batch_id]
        items = [self.items[i] for i in batch["item_ids"]]
        # Batch statuses DENIED, PENDING, PROCESSING, SUCCESS, CANCELED; UNCLAIMED items are
        # not final (they come back RETURNED after 30 days) — PROVIDERS.md, PayPal Payouts.
        statuses = {i["transaction_status"] for i in items}
        status = "SUCCESS" if statuses <= FINAL_ITEM_STATES | {"UNCLAIMED"} else "PROCESSING"
        if batch.get("first_view"):
            status = "PENDING"
        view: dict[str, Any] = {
            "batch_header": {
                "payout_batch_id": batch_id,
                "batch_status": status,
                "sender_batch_header": batch["sender_batch_header"],
                "amount": batch["amount"],
            },
            "links": [{"href": f"/v1/payments/payouts/{batch_id}", "rel": "self", "method": "GET"}],
        }
        if with_items:
            view["items"] = items
        return view

    def create_batch(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        header = body.get("sender_batch_header") or {}
        sender_batch_id = header.get("sender_batch_id")
        if not sender_batch_id or not body.get("items"):
            # PayPal answers a malformed request with 400 VALIDATION_ERROR ("Invalid request -
            # see details"), as in paypal/Payouts-Java-SDK#7.
            return 400, {"name": "VALIDATION_ERROR", "message": "Invalid request"}
        with self.lock:
            if sender_batch_id in self.batch_by_sender:
                return 400, self.duplicate_error(sender_batch_id)
            if len(body["items"]) > 15000:
                # Payouts API integration: "You can specify up to 15,000 individual payouts in
                # one API call. Exceeding 15,000 payouts in one call returns the HTTP 400".
                return 400, {"name": "VALIDATION_ERROR", "message": "Too many items"}
            batch_id = self.next_id("PB")
            item_ids = []
            total = 0
            currency = body["items"][0]["amount"]["currency"]
            for raw in body["items"]:
                item_id = self.next_id("PI")
                status = self.outcomes.get(raw["receiver"], "SUCCESS")
                item = {
                    "payout_item_id": item_id,
                    "transaction_id": self.next_id("TX") if status == "SUCCESS" else "",
                    "transaction_status": status,
                    "payout_batch_id": batch_id,
                    "payout_item": raw,
                }
                if status == "FAILED":
                    # An item PayPal cannot pay carries its reason in `errors` (name, message),
                    # e.g. RECEIVER_UNREGISTERED (Payouts API errors reference).
                    item["errors"] = {
                        "name": "RECEIVER_UNREGISTERED",
                        "message": "Receiver is unregistered",
                    }
                self.items[item_id] = item
                item_ids.append(item_id)
                # The batch total in minor units, exact: Decimal, never a float.
                total += int(Decimal(raw["amount"]["value"]).scaleb(exponent(currency)))
            self.batches[batch_id] = {
                "sender_batch_header": header,
                "item_ids": item_ids,
                "amount": {"value": to_decimal_string(total, currency), "currency": currency},
            }
            self.batch_by_sender[sender_batch_id] = batch_id
            # payout_header.batch_status: "If the payout passes preliminary checks, the status
            # is PENDING" (the create call answers 201 with the header, items come later).
            view = self.batch_view(batch_id, False)
            view["batch_header"]["batch_status"] = "PENDING"
        if self.webhook_url:
            threading.Thread(
                target=self._send_batch_webhooks, args=(batch_id,), daemon=True
            ).start()
        return 201, view

    def duplicate_error(self, sender_batch_id: str) -> dict[str, Any]:
        """PayPal's answer to a sender_batch_id used in the last 30 days. Its documentation
        (developer.paypal.com/api/payments.payouts-batch/v1/payouts-post, "Notes"): "PayPal
        does not process duplicate payouts. If you specify a sender_batch_id that was used in
        the last 30 days, the API rejects the request with an error message that shows the
        duplicate sender_batch_id and includes a HATEOAS link to the original payout with the
        same sender_batch_id." The rejection is an HTTP 400 (the create call's documented
        error status) named USER_BUSINESS_ERROR, with the field and issue in `details`, as
        PayPal answered in paypal/PayPal-Ruby-SDK#120 ({"name": "USER_BUSINESS_ERROR",
        "message": "User business error.", "details": [{"field": "SENDER_BATCH_ID", "issue":
        "Duplicate batch request"}]}) and as the USER_BUSINESS_ERROR page describes ("For
        batch processing, try again with a different `sender_batch_ID`")."""
        original = self.batch_by_sender[sender_batch_id]
        return {
            "name": "USER_BUSINESS_ERROR",
            "message": "User business error.",
            "debug_id": self.next_id("dbg"),
            "information_link": (
                "https://developer.paypal.com/docs/api/payments.payouts-batch/#errors"
            ),
            "details": [
                {
                    "field": "SENDER_BATCH_ID",
                    "location": "body",
                    "issue": "Batch with given sender_batch_id already exists",
                    "value": sender_batch_id,
                }
            ],
            # HATEOAS links are absolute URLs at PayPal (api-m.paypal.com/v1/…).
            "links": [
                {
                    "href": f"{self.base_url}/v1/payments/payouts/{original}",
                    "rel": "self",
                    "method": "GET",
                    "encType": "application/json",
                }
            ],
        }

    def _send_batch_webhooks(self, batch_id: str) -> None:
        time.sleep(1.0)
        with self.lock:
            items = [dict(self.items[i]) for i in self.batches[batch_id]["item_ids"]]
        for item in items:
            self.emit_item_event(item)
        self.post_webhook(
            {
                "id": self.next_id("WH-EVT-"),
                "event_type": "PAYMENT.PAYOUTSBATCH.SUCCESS",
                "resource": self.batch_view(batch_id, False),
            }
        )

    def emit_item_event(self, item: dict[str, Any]) -> None:
        suffix = {"SUCCESS": "SUCCEEDED", "FAILED": "FAILED", "UNCLAIMED": "UNCLAIMED"}.get(
            item["transaction_status"], item["transaction_status"]
        )
        self.post_webhook(
            {
                "id": self.next_id("WH-EVT-"),
                "event_type": f"PAYMENT.PAYOUTS-ITEM.{suffix}",
                "resource": item,
            }
        )

    def post_webhook(self, event: dict[str, Any]) -> None:
        if not self.webhook_url:
            return
        body = json.dumps(event).encode()
        transmission_id = self.next_id("TR")
        headers = {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "PAYPAL-TRANSMISSION-SIG": self.sign(transmission_id, body),
            "PAYPAL-CERT-URL": "https://fake.paypal.local/cert.pem",
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }
        request = urllib.request.Request(self.webhook_url, data=body, headers=headers)
        try:
            urllib.request.urlopen(request, timeout=5).read()  # noqa: S310 (loopback)
        except Exception:  # noqa: BLE001 — PayPal retries; the poll catches it anyway
            pass


def control(st: PayPalState, path: str, data: dict[str, Any]) -> bool:
    """Apply a `/_control/paypal/…` command (under the state's lock); False if not one."""
    if path == "/_control/paypal/outcome":
        st.outcomes[data["receiver"]] = data["status"]
    elif path == "/_control/paypal/item_status":
        for item in st.items.values():
            if item["payout_item"]["sender_item_id"] == str(data["sender_item_id"]):
                item["transaction_status"] = data["status"]
                if data.get("emit"):
                    threading.Thread(
                        target=st.emit_item_event, args=(dict(item),), daemon=True
                    ).start()
    elif path == "/_control/paypal/lose_batch":
        st.lost_batches.add(st.batch_by_sender[data["sender_batch_id"]])
    else:
        return False
    return True


def route(st: PayPalState, req: PeerRequest) -> Reply | None:
    """PayPal's answer to `req`, or None if it is not a PayPal path."""
    path, parts = req.path, req.parts
    if path == "/v1/oauth2/token":
        # PayPal REST authentication: client credentials → a Bearer `access_token` with
        # `expires_in` seconds (developer.paypal.com/api/rest/authentication).
        return (
            200,
            {
                "scope": "https://uri.paypal.com/services/payments/payouts",
                "access_token": "A21AAFAKE" + st.next_id(""),
                "token_type": "Bearer",
                "app_id": "APP-FAKE",
                "expires_in": 32400,
            },
            {},
        )
    if path == "/v1/payments/payouts" and req.method == "POST":
        status, payload = st.create_batch(json.loads(req.raw or b"{}"))
        return status, payload, {}
    if len(parts) == 4 and parts[:3] == ["v1", "payments", "payouts"] and req.method == "GET":
        with st.lock:
            if parts[3] not in st.batches or parts[3] in st.lost_batches:
                # PayPal's 404 for a batch id it does not know (or this client may not
                # read): {"name": "RESOURCE_NOT_FOUND", …} (PayPal REST API errors).
                return 404, {"name": "RESOURCE_NOT_FOUND", "message": "no such batch"}, {}
            return 200, st.batch_view(parts[3]), {}
    if len(parts) == 4 and parts[:3] == ["v1", "payments", "payouts-item"]:
        with st.lock:
            item = st.items.get(parts[3])
        if item is None:
            return 404, {"name": "RESOURCE_NOT_FOUND", "message": "no such item"}, {}
        return 200, item, {}
    if path == "/v1/notifications/verify-webhook-signature":
        # PayPal's Verify webhook signature: the PAYPAL-* headers, our webhook id and the
        # event in, `verification_status` SUCCESS | FAILURE out (PROVIDERS.md).
        data = json.loads(req.raw or b"{}")
        expected = st.signatures.get(data.get("transmission_id", ""))
        ok = (
            expected is not None
            and hmac.compare_digest(expected, data.get("transmission_sig", ""))
            and data.get("webhook_id") == st.webhook_id
        )
        return 200, {"verification_status": "SUCCESS" if ok else "FAILURE"}, {}
    return None
