"""Moved: re-exports payouts.gateways.{base,registry} until the lead rewrites the importers at merge."""

from payouts.gateways.base import (
    AlreadySentNotFound,
    InvalidConnectWebhook,
    PayPalPayouts,
    PermanentError,
    ProviderError,
    ProviderNotConfigured,
    StripeConnect,
    TransientError,
)
from payouts.gateways.registry import (
    get_paypal,
    get_stripe_connect,
    paypal_enabled,
    stripe_connect_enabled,
    stripe_connect_webhooks_enabled,
)

__all__ = [
    "AlreadySentNotFound",
    "InvalidConnectWebhook",
    "PayPalPayouts",
    "PermanentError",
    "ProviderError",
    "ProviderNotConfigured",
    "StripeConnect",
    "TransientError",
    "get_paypal",
    "get_stripe_connect",
    "paypal_enabled",
    "stripe_connect_enabled",
    "stripe_connect_webhooks_enabled",
]
