"""The one module that imports the Stripe SDK. Everything else (and every test) talks to
these few functions, which take and return plain dicts.

Settings: STRIPE_SECRET_KEY (API calls), STRIPE_WEBHOOK_SECRET (webhook signatures),
STRIPE_API_BASE (another peer than api.stripe.com, e.g. localstripe in tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import stripe
from django.conf import settings

SIGNATURE_TOLERANCE_SECONDS = 300  # Stripe's default: older timestamps are replays


class InvalidWebhook(Exception):
    """The payload is not a Stripe event signed with our secret within the tolerance."""


class NotConfigured(Exception):
    """The needed Stripe credential is not set (Stripe is switched off)."""


def is_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def webhooks_enabled() -> bool:
    return bool(settings.STRIPE_WEBHOOK_SECRET)


def construct_event(*, payload: bytes, signature: str | None) -> dict[str, Any]:
    """Verify `Stripe-Signature` over the raw body (several v1 values during a secret
    rotation: any match passes) and return the event as a plain dict."""
    if not webhooks_enabled():
        raise NotConfigured("STRIPE_WEBHOOK_SECRET is not set.")
    if not signature:
        raise InvalidWebhook("Missing Stripe-Signature header.")
    try:
        event = stripe.Webhook.construct_event(
            payload,
            signature,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=SIGNATURE_TOLERANCE_SECONDS,
        )
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise InvalidWebhook(str(exc) or "Invalid signature.") from exc
    return event.to_dict()


def client() -> stripe.StripeClient:
    """A configured SDK client (tests use it to drive localstripe as a real peer)."""
    if not is_enabled():
        raise NotConfigured("STRIPE_SECRET_KEY is not set.")
    kwargs: dict[str, Any] = {"max_network_retries": 2}
    if settings.STRIPE_API_BASE:
        kwargs["base_addresses"] = {"api": settings.STRIPE_API_BASE}
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, **kwargs)


def iter_events(*, created_gte: int | None, page_size: int = 100) -> Iterator[dict[str, Any]]:
    """Events created at or after `created_gte` (unix seconds), every page. Stripe lists
    newest first and keeps 30 days; `created[gte]` is the cursor because both Stripe and
    localstripe support it (localstripe has no `ending_before`)."""
    params: dict[str, Any] = {"limit": page_size}
    if created_gte:
        params["created"] = {"gte": created_gte}
    yield from _iter_list(client().v1.events.list, params)


def iter_refunds(*, page_size: int = 100) -> Iterator[dict[str, Any]]:
    """Refunds, newest first (callers stop when they reach ones they already have)."""
    yield from _iter_list(client().v1.refunds.list, {"limit": page_size})


def _iter_list(list_fn: Any, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    while True:
        page = list_fn(params)
        items = [item.to_dict() for item in page.data]
        yield from items
        if not page.has_more or not items:
            return
        params = {**params, "starting_after": items[-1]["id"]}
