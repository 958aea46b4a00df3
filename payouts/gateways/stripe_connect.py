"""Stripe Connect: accounts, account links, transfers, and the Connect endpoint's webhook
signatures. Does not import the Stripe SDK: commissions.gateways.stripe (the one module that
does; commissions sits below payouts) builds the client and verifies signatures, and sorts
SDK errors into transient / refused, which become this app's TransientError /
PermanentError here.

A client of our own (not the global `stripe.api_base`) so the Connect base URL
(STRIPE_CONNECT_API_BASE, a local peer in tests and the demo) does not disturb the
commissions app's Stripe calls."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings

from commissions.gateways.stripe import (
    SIGNATURE_TOLERANCE_SECONDS,
    InvalidWebhook,
    StripeRefusedError,
    StripeTransientError,
    make_client,
    verify_signature,
)
from commissions.gateways.stripe import call as call_stripe
from payouts.gateways.base import InvalidConnectWebhook, PermanentError, TransientError

__all__ = ["SIGNATURE_TOLERANCE_SECONDS", "StripeConnectClient", "construct_connect_event"]

TIMEOUT = 30  # seconds, per request; read when a client is built (tests shorten it)

T = TypeVar("T")


def construct_connect_event(*, payload: bytes, signature: str | None) -> dict[str, Any]:
    """Verify `Stripe-Signature` over the raw body with the Connect endpoint's own secret
    (a platform endpoint's secret does not sign Connect events) and return the event as
    parsed JSON. Several v1 values (a secret being rotated): the SDK accepts any match.
    The signature is checked first and the body parsed by us, so a signed body that is not
    a JSON object is a 400, never an SDK exception."""
    if not signature:
        raise InvalidConnectWebhook("Missing Stripe-Signature header.")
    try:
        verify_signature(
            payload=payload, signature=signature, secret=settings.STRIPE_CONNECT_WEBHOOK_SECRET
        )
        event = json.loads(payload)
    except (InvalidWebhook, ValueError, RecursionError) as exc:  # bad JSON
        raise InvalidConnectWebhook("Invalid signature or body.") from exc
    if not isinstance(event, dict):
        raise InvalidConnectWebhook("The body is not a Stripe event.")
    return event


def _call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return call_stripe(fn, *args, **kwargs)
    except StripeTransientError as exc:
        raise TransientError(exc.message, response=exc.response) from exc
    except StripeRefusedError as exc:
        raise PermanentError(exc.message, response=exc.response) from exc


def _plain(obj: Any) -> dict:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


class StripeConnectClient:
    def __init__(self) -> None:
        self.client = make_client(
            settings.STRIPE_CONNECT_SECRET_KEY,
            api_base=settings.STRIPE_CONNECT_API_BASE.rstrip("/"),
            timeout=TIMEOUT,
            max_network_retries=0,  # we retry ourselves, after reconciling
        )

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
        options: dict[str, Any] = {"idempotency_key": idempotency_key} if idempotency_key else {}
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
