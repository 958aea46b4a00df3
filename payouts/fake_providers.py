"""A small, stateful local peer for PayPal Payouts and Stripe Connect (what localstripe lacks).

Used by the tests (started on 127.0.0.1 with a free port) and by `make run`'s demo
(`python -m payouts.fake_providers --port 8421`). The real SDKs talk to it over HTTP.

PayPal: OAuth, `POST /v1/payments/payouts` (a repeated sender_batch_id is rejected with
HTTP 400 USER_BUSINESS_ERROR and a HATEOAS link to the original batch, as PayPal does),
`GET /v1/payments/payouts/<batch>`, `GET /v1/payments/payouts-item/<item>`,
`POST /v1/notifications/verify-webhook-signature`.
Stripe Connect: `POST /v1/accounts`, `GET /v1/accounts/<id>`, `POST /v1/account_links`,
`POST /v1/transfers` (honours Idempotency-Key), `GET /v1/transfers?transfer_group=`,
`GET /v1/transfers/<id>`.

Control (for reliability tests), JSON bodies:
- `POST /_control/fail` {"method", "path" (prefix), "mode": "5xx"|"timeout"|"crash_after_accept",
  "times": n, "seconds": s}: the next n matching calls fail that way. "timeout" and
  "crash_after_accept" first do the work, then stall / drop the connection without an answer.
- `POST /_control/paypal/outcome` {"receiver", "status"}: items to that e-mail get that status.
- `POST /_control/paypal/item_status` {"sender_item_id", "status"}: change an existing item
  (UNCLAIMED → RETURNED after 30 days).
- `POST /_control/paypal/lose_batch` {"sender_batch_id"}: the batch stays "used" (a repeat is
  still rejected as a duplicate) but reading it answers 404, as for a batch this client cannot
  see — the case where the original of a duplicate cannot be found.
- `POST /_control/stripe/account` {"id", "payouts_enabled"}; `POST /_control/stripe/balance`
  {"insufficient": bool}.
- `POST /_control/reset`; `GET /_control/state` → counts of calls and objects.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

FINAL_ITEM_STATES = {"SUCCESS", "FAILED", "RETURNED", "BLOCKED", "REFUNDED", "REVERSED", "DENIED"}


def _parse_stripe_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding: `metadata[payout_id]=5` → {"metadata": {"payout_id": "5"}}."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


class FakeState:
    def __init__(self, webhook_id: str = "WH-FAKE", webhook_url: str = "") -> None:
        self.lock = threading.RLock()
        self.base_url = ""  # set by FakeServer once bound (HATEOAS links are absolute)
        self.webhook_id = webhook_id
        self.webhook_url = webhook_url
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.seq = itertools.count(1)
            self.calls: dict[str, int] = {}
            self.failures: list[dict[str, Any]] = []
            self.batches: dict[str, dict] = {}  # provider batch id → batch
            self.batch_by_sender: dict[str, str] = {}
            self.lost_batches: set[str] = set()  # provider batch ids that read as 404
            self.items: dict[str, dict] = {}  # payout_item_id → item
            self.outcomes: dict[str, str] = {}  # receiver e-mail → item status
            self.signatures: dict[str, str] = {}  # transmission id → signature issued
            self.accounts: dict[str, dict] = {}
            self.transfers: dict[str, dict] = {}
            self.idempotency: dict[str, tuple[str, int, dict]] = {}
            self.insufficient = False

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self.seq):08d}"

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "calls": dict(self.calls),
                "paypal_batches": len(self.batches),
                "paypal_items": len(self.items),
                "transfers": len(self.transfers),
                "accounts": len(self.accounts),
            }

    def take_failure(self, method: str, path: str) -> dict[str, Any] | None:
        with self.lock:
            for failure in self.failures:
                if failure["method"] == method and path.startswith(failure["path"]):
                    failure["times"] -= 1
                    if failure["times"] <= 0:
                        self.failures.remove(failure)
                    return failure
        return None

    # --- PayPal

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
                total += round(float(raw["amount"]["value"]) * 100)
            self.batches[batch_id] = {
                "sender_batch_header": header,
                "item_ids": item_ids,
                "amount": {"value": f"{total / 100:.2f}", "currency": currency},
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

    # --- Stripe Connect

    def create_account(self, params: dict[str, Any]) -> dict[str, Any]:
        # A new Express account cannot receive payouts until its onboarding is finished
        # (Stripe: `payouts_enabled` is false until requirements are met).
        with self.lock:
            account_id = self.next_id("acct_")
            account = {
                "id": account_id,
                "object": "account",
                "type": params.get("type", "express"),
                "email": params.get("email"),
                "country": params.get("country", "US"),
                "payouts_enabled": False,
                "charges_enabled": False,
                "details_submitted": False,
                "metadata": params.get("metadata", {}),
            }
            self.accounts[account_id] = account
        return account

    def create_transfer(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        account = self.accounts.get(params.get("destination", ""))
        if account is None:
            return 400, _stripe_error("invalid_request_error", "No such destination", "destination")
        if not account["payouts_enabled"]:
            return 400, _stripe_error(
                "invalid_request_error", "Destination cannot receive transfers", "destination"
            )
        if self.insufficient:
            # Connect transfers fail with "insufficient funds" when the platform balance
            # cannot cover them (PROVIDERS.md; Stripe error code balance_insufficient).
            return 400, _stripe_error(
                "invalid_request_error", "Insufficient funds", code="balance_insufficient"
            )
        transfer_id = self.next_id("tr_")
        transfer = {
            "id": transfer_id,
            "object": "transfer",
            "amount": int(params["amount"]),
            "amount_reversed": 0,
            "currency": params["currency"].lower(),
            "destination": params["destination"],
            "transfer_group": params.get("transfer_group"),
            "metadata": params.get("metadata", {}),
            "reversed": False,
            "created": int(time.time()),
            "livemode": False,
            "reversals": {"object": "list", "data": [], "has_more": False, "url": ""},
        }
        self.transfers[transfer_id] = transfer
        return 200, transfer


def _stripe_error(kind: str, message: str, param: str = "", code: str = "") -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if param:
        error["param"] = param
    if code:
        error["code"] = code
    return {"error": error}


class Handler(BaseHTTPRequestHandler):
    server: FakeServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.verbose:
            super().log_message(format, *args)

    @property
    def state(self) -> FakeState:
        return self.server.state

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        raw = self._body() if method == "POST" else b""
        if not path.startswith("/_"):
            with self.state.lock:
                key = f"{method} {path.rstrip('/').rsplit('/', 1)[0] if path.count('/') > 3 else path}"
                self.state.calls[key] = self.state.calls.get(key, 0) + 1
        failure = None if path.startswith("/_") else self.state.take_failure(method, path)
        # PayPal: "If you receive an HTTP 5nn status code, you can safely retry the request
        # with the same sender_batch_id" (payouts-post, Notes) — a 5xx here did nothing.
        if failure and failure["mode"] == "5xx":
            if path.startswith("/v1/payments") or path.startswith("/v1/oauth2"):
                self._send(500, {"name": "INTERNAL_SERVICE_ERROR", "message": "fake 5xx"})
            else:
                self._send(500, _stripe_error("api_error", "fake 5xx"))
            return
        status, payload, headers = self._route(method, path, url.query, raw)
        if failure and failure["mode"] == "timeout":
            time.sleep(float(failure.get("seconds", 3)))
            self.close_connection = True
            return
        if failure and failure["mode"] == "crash_after_accept":
            self.close_connection = True
            return
        if status == 302:
            self.send_response(302)
            self.send_header("Location", payload)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send(status, payload, headers)

    def _route(self, method: str, path: str, query: str, raw: bytes) -> tuple[int, Any, dict]:
        st = self.state
        parts = [p for p in path.split("/") if p]
        # --- control
        if path.startswith("/_control/"):
            data = json.loads(raw or b"{}")
            with st.lock:
                if path == "/_control/reset":
                    st.reset()
                elif path == "/_control/fail":
                    data.setdefault("times", 1)
                    data.setdefault("method", "POST")
                    st.failures.append(data)
                elif path == "/_control/paypal/outcome":
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
                elif path == "/_control/stripe/account":
                    st.accounts[data["id"]]["payouts_enabled"] = bool(data["payouts_enabled"])
                elif path == "/_control/stripe/balance":
                    st.insufficient = bool(data.get("insufficient"))
                elif path == "/_control/state":
                    pass
                else:
                    return 404, {"error": "unknown control"}, {}
            return 200, st.summary(), {}
        # --- PayPal
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
        if path == "/v1/payments/payouts" and method == "POST":
            status, payload = st.create_batch(json.loads(raw or b"{}"))
            return status, payload, {}
        if len(parts) == 4 and parts[:3] == ["v1", "payments", "payouts"] and method == "GET":
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
            data = json.loads(raw or b"{}")
            expected = st.signatures.get(data.get("transmission_id", ""))
            ok = (
                expected is not None
                and hmac.compare_digest(expected, data.get("transmission_sig", ""))
                and data.get("webhook_id") == st.webhook_id
            )
            return 200, {"verification_status": "SUCCESS" if ok else "FAILURE"}, {}
        # --- Stripe Connect
        params = _parse_stripe_form(raw.decode()) if method == "POST" else {}
        if path == "/v1/accounts" and method == "POST":
            # Stripe (docs.stripe.com/idempotency): "When creating or updating an object,
            # use an idempotency key": a repeat with the key gets the first account back.
            return self._idempotent(params, lambda: (200, st.create_account(params)))
        if len(parts) == 3 and parts[:2] == ["v1", "accounts"] and method == "GET":
            account = st.accounts.get(parts[2])
            if account is None:
                return 404, _stripe_error("invalid_request_error", "No such account"), {}
            return 200, account, {}
        if path == "/v1/account_links" and method == "POST":
            # Stripe Account Links: a single-use onboarding `url` that expires (`expires_at`);
            # the affiliate comes back to `return_url`, or to `refresh_url` when it expired.
            account_id = params.get("account", "")
            if account_id not in st.accounts:
                return 400, _stripe_error("invalid_request_error", "No such account", "account"), {}
            base = f"http://{self.headers.get('Host')}"
            return (
                200,
                {
                    "object": "account_link",
                    "url": f"{base}/_fake/connect/onboard/{account_id}?"
                    + "&".join(
                        f"{k}={urllib.request.quote(params.get(k, ''), safe='')}"
                        for k in ("return_url", "refresh_url")
                    ),
                    "created": int(time.time()),
                    "expires_at": int(time.time()) + 300,
                },
                {},
            )
        if len(parts) == 4 and parts[:3] == ["_fake", "connect", "onboard"]:
            # The Express onboarding form, completed at once: payouts become enabled.
            with st.lock:
                st.accounts[parts[3]].update(
                    payouts_enabled=True, charges_enabled=True, details_submitted=True
                )
            return 302, parse_qs(query).get("return_url", ["/"])[0], {}
        if path == "/v1/transfers" and method == "POST":
            return self._idempotent(params, lambda: st.create_transfer(params))
        if path == "/v1/transfers" and method == "GET":
            # Stripe's List all transfers, filtered by `transfer_group`: how a lost answer is
            # found again (PROVIDERS.md, Connect transfers).
            q = {k: v[0] for k, v in parse_qs(query).items()}
            with st.lock:
                data = [
                    t
                    for t in st.transfers.values()
                    if not q.get("transfer_group") or t["transfer_group"] == q["transfer_group"]
                ]
            data.sort(key=lambda t: t["id"], reverse=True)
            return (
                200,
                {"object": "list", "data": data, "has_more": False, "url": "/v1/transfers"},
                {},
            )
        if len(parts) == 3 and parts[:2] == ["v1", "transfers"] and method == "GET":
            transfer = st.transfers.get(parts[2])
            if transfer is None:
                return 404, _stripe_error("invalid_request_error", "No such transfer"), {}
            return 200, transfer, {}
        return 404, {"error": {"type": "invalid_request_error", "message": f"No route {path}"}}, {}

    def _idempotent(self, params: dict[str, Any], create: Any) -> tuple[int, Any, dict]:
        """Stripe's idempotency layer (docs.stripe.com/idempotency): it works "by saving the
        resulting status code and body of the first request made for any given idempotency
        key, regardless of whether it succeeds or fails. Subsequent requests with the same
        key return the same result, including 500 errors"; and it "compares incoming
        parameters to those of the original request and errors if they're not the same"."""
        st = self.state
        key = self.headers.get("Idempotency-Key", "")
        fingerprint = json.dumps([self.path, params], sort_keys=True)
        with st.lock:
            if key and key in st.idempotency:
                seen_fp, status, payload = st.idempotency[key]
                if seen_fp != fingerprint:
                    return (
                        400,
                        _stripe_error(
                            "idempotency_error",
                            "Keys for idempotent requests can only "
                            "be used with the same parameters they were first used with.",
                        ),
                        {},
                    )
                return status, payload, {"Idempotent-Replayed": "true"}
            status, payload = create()
            if key:
                st.idempotency[key] = (fingerprint, status, payload)
        return status, payload, {}


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, state: FakeState, verbose: bool = False) -> None:
        super().__init__((host, port), Handler)
        self.state = state
        state.base_url = self.base_url
        self.verbose = verbose

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def start_in_thread(
    host: str = "127.0.0.1", port: int = 0, webhook_id: str = "WH-FAKE", webhook_url: str = ""
) -> FakeServer:
    """Start the peer on a free port in a daemon thread; `server.shutdown()` stops it."""
    server = FakeServer(host, port, FakeState(webhook_id=webhook_id, webhook_url=webhook_url))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="Local fake PayPal Payouts + Stripe Connect.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8421)
    parser.add_argument("--webhook-id", default="WH-FAKE")
    parser.add_argument("--paypal-webhook-url", default="", help="Where to POST PayPal events.")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    state = FakeState(webhook_id=args.webhook_id, webhook_url=args.paypal_webhook_url)
    server = FakeServer(args.host, args.port, state, verbose=args.verbose)
    print(f"fake PayPal + Stripe Connect on {server.base_url}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
