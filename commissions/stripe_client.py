"""Moved: re-exports commissions.gateways.stripe until the lead rewrites the importers at merge."""

from commissions.gateways.stripe import (
    SIGNATURE_TOLERANCE_SECONDS,
    InvalidWebhook,
    NotConfigured,
    client,
    construct_event,
    is_enabled,
    iter_events,
    iter_refunds,
    webhooks_enabled,
)

__all__ = [
    "SIGNATURE_TOLERANCE_SECONDS",
    "InvalidWebhook",
    "NotConfigured",
    "client",
    "construct_event",
    "is_enabled",
    "iter_events",
    "iter_refunds",
    "webhooks_enabled",
]
