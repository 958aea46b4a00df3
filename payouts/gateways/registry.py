"""Which payout providers are switched on, and the configured client for each: what the
payout code calls instead of constructing an adapter. A provider is on when its credentials
are set (STYLE.md: a laptop runs without credentials); asking for one that is off is a
ProviderNotConfigured (503), never a call with empty credentials."""

from __future__ import annotations

from django.conf import settings

from payouts.gateways.base import PayPalPayouts, ProviderNotConfigured, StripeConnect
from payouts.gateways.paypal import PayPalClient
from payouts.gateways.stripe_connect import StripeConnectClient


def paypal_enabled() -> bool:
    return bool(settings.PAYPAL_CLIENT_ID and settings.PAYPAL_CLIENT_SECRET)


def stripe_connect_enabled() -> bool:
    return bool(settings.STRIPE_CONNECT_SECRET_KEY)


def stripe_connect_webhooks_enabled() -> bool:
    return bool(settings.STRIPE_CONNECT_WEBHOOK_SECRET)


def get_paypal() -> PayPalPayouts:
    if not paypal_enabled():
        raise ProviderNotConfigured("PayPal is not configured (PAYPAL_CLIENT_ID / _SECRET).")
    return PayPalClient()


def get_stripe_connect() -> StripeConnect:
    if not stripe_connect_enabled():
        raise ProviderNotConfigured("Stripe Connect is not configured (STRIPE_SECRET_KEY).")
    return StripeConnectClient()
