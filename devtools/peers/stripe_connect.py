"""The Stripe Connect half of the local peer (what localstripe lacks): `POST /v1/accounts`,
`GET /v1/accounts/<id>`, `POST /v1/account_links` (its URL completes onboarding at once),
`POST /v1/transfers` (honours Idempotency-Key), `GET /v1/transfers?transfer_group=`,
`GET /v1/transfers/<id>`. Stripe's form encoding in, Stripe's JSON and error shape out.

Control: `stripe/account` {"id", "payouts_enabled"}; `stripe/balance` {"insufficient": bool}.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from devtools.peers.base import PeerRequest, Reply, StateBase


def parse_stripe_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding: `metadata[payout_id]=5` → {"metadata": {"payout_id": "5"}}."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def stripe_error(kind: str, message: str, param: str = "", code: str = "") -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if param:
        error["param"] = param
    if code:
        error["code"] = code
    return {"error": error}


def server_error() -> dict[str, Any]:
    return stripe_error("api_error", "fake 5xx")


class StripeConnectState(StateBase):
    def reset_stripe_connect(self) -> None:
        with self.lock:
            self.accounts: dict[str, dict] = {}
            self.transfers: dict[str, dict] = {}
            # Idempotency-Key → (request fingerprint, status, payload) of the first answer
            self.idempotency: dict[str, tuple[str, int, dict]] = {}
            self.insufficient = False

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
            return 400, stripe_error("invalid_request_error", "No such destination", "destination")
        if not account["payouts_enabled"]:
            return 400, stripe_error(
                "invalid_request_error", "Destination cannot receive transfers", "destination"
            )
        if self.insufficient:
            # Connect transfers fail with "insufficient funds" when the platform balance
            # cannot cover them (PROVIDERS.md; Stripe error code balance_insufficient).
            return 400, stripe_error(
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


def control(st: StripeConnectState, path: str, data: dict[str, Any]) -> bool:
    """Apply a `/_control/stripe/…` command (under the state's lock); False if not one."""
    if path == "/_control/stripe/account":
        st.accounts[data["id"]]["payouts_enabled"] = bool(data["payouts_enabled"])
    elif path == "/_control/stripe/balance":
        st.insufficient = bool(data.get("insufficient"))
    else:
        return False
    return True


def route(st: StripeConnectState, req: PeerRequest) -> Reply | None:
    """Stripe's answer to `req`, or None if it is not a Connect path."""
    path, parts, method = req.path, req.parts, req.method
    params = parse_stripe_form(req.raw.decode()) if method == "POST" else {}
    if path == "/v1/accounts" and method == "POST":
        # Stripe (docs.stripe.com/idempotency): "When creating or updating an object,
        # use an idempotency key": a repeat with the key gets the first account back.
        return idempotent(st, req, params, lambda: (200, st.create_account(params)))
    if len(parts) == 3 and parts[:2] == ["v1", "accounts"] and method == "GET":
        account = st.accounts.get(parts[2])
        if account is None:
            return 404, stripe_error("invalid_request_error", "No such account"), {}
        return 200, account, {}
    if path == "/v1/account_links" and method == "POST":
        # Stripe Account Links: a single-use onboarding `url` that expires (`expires_at`);
        # the affiliate comes back to `return_url`, or to `refresh_url` when it expired.
        account_id = params.get("account", "")
        if account_id not in st.accounts:
            return 400, stripe_error("invalid_request_error", "No such account", "account"), {}
        base = f"http://{req.headers.get('Host')}"
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
        return 302, parse_qs(req.query).get("return_url", ["/"])[0], {}
    if path == "/v1/transfers" and method == "POST":
        return idempotent(st, req, params, lambda: st.create_transfer(params))
    if path == "/v1/transfers" and method == "GET":
        # Stripe's List all transfers, filtered by `transfer_group`: how a lost answer is
        # found again (PROVIDERS.md, Connect transfers).
        q = {k: v[0] for k, v in parse_qs(req.query).items()}
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
            return 404, stripe_error("invalid_request_error", "No such transfer"), {}
        return 200, transfer, {}
    return None


def idempotent(
    st: StripeConnectState,
    req: PeerRequest,
    params: dict[str, Any],
    create: Callable[[], tuple[int, dict[str, Any]]],
) -> Reply:
    """Stripe's idempotency layer (docs.stripe.com/idempotency): it works "by saving the
    resulting status code and body of the first request made for any given idempotency
    key, regardless of whether it succeeds or fails. Subsequent requests with the same
    key return the same result, including 500 errors"; and it "compares incoming
    parameters to those of the original request and errors if they're not the same"."""
    key = req.headers.get("Idempotency-Key", "")
    fingerprint = json.dumps([req.target, params], sort_keys=True)
    with st.lock:
        if key and key in st.idempotency:
            seen_fp, status, payload = st.idempotency[key]
            if seen_fp != fingerprint:
                return (
                    400,
                    stripe_error(
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
