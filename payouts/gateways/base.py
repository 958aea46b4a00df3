"""The small interface the payout code talks to: the errors a provider call can raise and
the Protocols the adapters (payouts.gateways.paypal, payouts.gateways.stripe_connect)
implement. Imports no SDK and nothing of payouts, so the adapters and every caller import it
without a cycle.

Errors are split by what the caller may do: a TransientError (network, timeout, 5xx, rate
limit) may be retried — but only after asking the provider what happened, since the call
may have been accepted; a PermanentError (refused request) will fail the same way again.
"""

from __future__ import annotations

from typing import Any, Protocol

from config.errors import ServiceError


class ProviderError(Exception):
    def __init__(self, message: str, *, response: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.response = response


class TransientError(ProviderError):
    """The call may or may not have been carried out; ask the provider, then retry."""


class PermanentError(ProviderError):
    """The provider refused; the same call would be refused again."""


class AlreadySentNotFound(ProviderError):
    """PayPal rejected a sender_batch_id as already used, but the original batch cannot be
    read (no link, or the link answers 404). Neither transient nor a refusal: the money may
    well have gone out, so the payouts must not fail (that would pay them again) and
    re-sending cannot help (PayPal rejects the id for 30 days). A person resolves it.
    Deliberately not a PermanentError, so no `except PermanentError` path can fail them."""

    def __init__(self, message: str, *, response: Any = None, sender_batch_id: str = "") -> None:
        super().__init__(message, response=response)
        self.sender_batch_id = sender_batch_id


class InvalidConnectWebhook(Exception):
    """The body is not a Stripe event signed with STRIPE_CONNECT_WEBHOOK_SECRET."""


class ProviderNotConfigured(ServiceError):
    code = "provider_not_configured"
    status = 503


class PayPalPayouts(Protocol):
    def create_batch(
        self, *, sender_batch_id: str, items: list[dict[str, Any]], provider_batch_id: str = ""
    ) -> dict: ...
    def get_batch(self, *, provider_batch_id: str) -> dict: ...
    def get_item(self, *, item_id: str) -> dict: ...
    def verify_webhook(self, *, headers: dict[str, str], body: bytes) -> bool: ...


class StripeConnect(Protocol):
    def create_account(
        self, *, email: str, country: str, affiliate_public_id: str, idempotency_key: str = ""
    ) -> dict: ...
    def create_account_link(self, *, account_id: str, return_url: str, refresh_url: str) -> str: ...
    def get_account(self, *, account_id: str) -> dict: ...
    def create_transfer(
        self,
        *,
        amount: int,
        currency: str,
        destination: str,
        transfer_group: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> dict: ...
    def find_transfers(self, *, transfer_group: str) -> list[dict]: ...
