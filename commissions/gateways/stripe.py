"""The one module that imports the Stripe SDK. Everything else talks to these few functions,
which take and return plain dicts (SDK 16's objects are not dicts, PROVIDERS.md).

Two users:
- commissions (customer payments in): `construct_event` verifies the platform endpoint's
  webhooks, `iter_events` / `iter_refunds` feed the catch-up sync, `client` lets tests drive
  localstripe as a real peer. Settings: STRIPE_SECRET_KEY (API calls), STRIPE_WEBHOOK_SECRET
  (webhook signatures), STRIPE_API_BASE (another peer than api.stripe.com).
- payouts' Connect gateway (payouts.gateways.stripe_connect), which must not import the SDK:
  `make_client` (its own key, base URL and timeout, so the Connect peer does not disturb the
  payment calls), `verify_signature` (the Connect endpoint has its own secret), and `call`,
  which sorts SDK errors into StripeTransientError / StripeRefusedError. Those two are ours,
  not payouts' TransientError / PermanentError: commissions sits below payouts and cannot
  import them, so the Connect gateway translates one into the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import stripe
from django.conf import settings

SIGNATURE_TOLERANCE_SECONDS = 300  # Stripe's default: older timestamps are replays

T = TypeVar("T")


class InvalidWebhook(Exception):
    """The payload is not a Stripe event signed with our secret within the tolerance."""


class NotConfigured(Exception):
    """The needed Stripe credential is not set (Stripe is switched off)."""


class StripeCallError(Exception):
    """An API call failed. `message` is ours (safe to store); `response` is Stripe's JSON
    error body when there was one."""

    def __init__(self, message: str, *, response: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.response = response


class StripeTransientError(StripeCallError):
    """Network, timeout, rate limit, credentials or a 5xx: the call may or may not have been
    carried out; a retry (with the same idempotency key) is the caller's to decide."""


class StripeRefusedError(StripeCallError):
    """Stripe refused the request (4xx other than the above): it would refuse it again."""


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


def verify_signature(*, payload: bytes, signature: str, secret: str) -> None:
    """Check `Stripe-Signature` over the raw bytes against `secret` within the SDK's default
    tolerance, and nothing else: the body is not parsed, so the caller decides what a signed
    body that is not an event means. Several v1 values (a secret being rotated): any match
    passes. Bad UTF-8 is an invalid signature, not a crash."""
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise InvalidWebhook("Invalid signature.") from exc


def make_client(
    api_key: str, *, api_base: str = "", timeout: float | None = None, max_network_retries: int = 0
) -> stripe.StripeClient:
    """An SDK client of its own (never the global `stripe.api_base`), so two users with two
    base URLs do not disturb each other. `timeout` in seconds; None keeps the SDK's default.
    `max_network_retries` 0 for callers that retry themselves after reconciling."""
    options: dict[str, Any] = {"max_network_retries": max_network_retries}
    if timeout is not None:
        options["http_client"] = stripe.RequestsClient(timeout=timeout)
    if api_base:
        options["base_addresses"] = {"api": api_base}
    return stripe.StripeClient(api_key, **options)


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run an SDK call, sorting its errors by what the caller may do. Order matters: every
    SDK error derives from StripeError."""
    try:
        return fn(*args, **kwargs)
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.AuthenticationError) as exc:
        raise StripeTransientError(f"Stripe unreachable or refusing us: {exc}") from exc
    except stripe.APIError as exc:
        raise StripeTransientError(f"Stripe server error: {exc}", response=exc.json_body) from exc
    except stripe.StripeError as exc:
        raise StripeRefusedError(
            f"Stripe refused: {exc.user_message or exc}", response=exc.json_body
        ) from exc


def client() -> stripe.StripeClient:
    """The payment side's configured client (tests use it to drive localstripe as a peer)."""
    if not is_enabled():
        raise NotConfigured("STRIPE_SECRET_KEY is not set.")
    return make_client(
        settings.STRIPE_SECRET_KEY, api_base=settings.STRIPE_API_BASE, max_network_retries=2
    )


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
