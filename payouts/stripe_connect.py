"""The one module that imports stripe for Connect (accounts, account links, transfers, and
the Connect endpoint's webhook signatures).

A StripeClient of our own (not the global `stripe.api_base`) so the Connect base URL
(STRIPE_CONNECT_API_BASE, a local peer in tests and the demo) does not disturb the
commissions app's Stripe calls."""

from __future__ import annotations

import json
from typing import Any

import stripe
from django.conf import settings

from payouts.providers import InvalidConnectWebhook, PermanentError, TransientError

TIMEOUT = 30
# The Stripe SDK's default tolerance for a webhook's signed timestamp (PROVIDERS.md).
SIGNATURE_TOLERANCE_SECONDS = 300


def construct_connect_event(*, payload: bytes, signature: str | None) -> dict[str, Any]:
    """Verify `Stripe-Signature` over the raw body with the Connect endpoint's own secret
    (a platform endpoint's secret does not sign Connect events) and return the event as
    parsed JSON. Several v1 values (a secret being rotated): the SDK accepts any match.
    The signature is checked first and the body parsed by us, so a signed body that is not
    a JSON object is a 400, never an SDK exception."""
    if not signature:
        raise InvalidConnectWebhook("Missing Stripe-Signature header.")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"),
            signature,
            settings.STRIPE_CONNECT_WEBHOOK_SECRET,
            tolerance=SIGNATURE_TOLERANCE_SECONDS,
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError, RecursionError) as exc:  # bad UTF-8/JSON
        raise InvalidConnectWebhook("Invalid signature or body.") from exc
    if not isinstance(event, dict):
        raise InvalidConnectWebhook("The body is not a Stripe event.")
    return event


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.AuthenticationError) as exc:
        raise TransientError(f"Stripe unreachable or refusing us: {exc}") from exc
    except stripe.APIError as exc:
        raise TransientError(f"Stripe server error: {exc}", response=exc.json_body) from exc
    except stripe.StripeError as exc:
        raise PermanentError(
            f"Stripe refused: {exc.user_message or exc}", response=exc.json_body
        ) from exc


def _plain(obj: Any) -> dict:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


class StripeConnectClient:
    def __init__(self) -> None:
        options: dict[str, Any] = {
            "max_network_retries": 0,  # we retry ourselves, after reconciling
            "http_client": stripe.RequestsClient(timeout=TIMEOUT),
        }
        if settings.STRIPE_CONNECT_API_BASE:
            options["base_addresses"] = {"api": settings.STRIPE_CONNECT_API_BASE.rstrip("/")}
        self.client = stripe.StripeClient(settings.STRIPE_CONNECT_SECRET_KEY, **options)

    def create_account(
        self, *, email: str, country: str, affiliate_public_id: str, idempotency_key: str = ""
    ) -> dict:
        params: dict[str, Any] = {
            "type": "express",
            "email": email,
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"affiliate": affiliate_public_id},
        }
        if country:
            params["country"] = country
        options = {"idempotency_key": idempotency_key} if idempotency_key else {}
        return _plain(_call(self.client.v1.accounts.create, params, options))

    def create_account_link(self, *, account_id: str, return_url: str, refresh_url: str) -> str:
        link = _call(
            self.client.v1.account_links.create,
            {
                "account": account_id,
                "return_url": return_url,
                "refresh_url": refresh_url,
                "type": "account_onboarding",
            },
        )
        return link.url

    def get_account(self, *, account_id: str) -> dict:
        return _plain(_call(self.client.v1.accounts.retrieve, account_id))

    def create_transfer(
        self,
        *,
        amount: int,
        currency: str,
        destination: str,
        transfer_group: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> dict:
        transfer = _call(
            self.client.v1.transfers.create,
            {
                "amount": amount,
                "currency": currency.lower(),
                "destination": destination,
                "transfer_group": transfer_group,
                "metadata": metadata,
            },
            {"idempotency_key": idempotency_key},
        )
        return _plain(transfer)

    def find_transfers(self, *, transfer_group: str) -> list[dict]:
        page = _call(
            self.client.v1.transfers.list, {"transfer_group": transfer_group, "limit": 100}
        )
        return [_plain(t) for t in page.data]
