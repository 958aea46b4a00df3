"""Moved: re-exports payouts.gateways.stripe_connect until the lead rewrites the importers at merge."""

# TIMEOUT here is a copy: patch payouts.gateways.stripe_connect.TIMEOUT, which the client reads.

from payouts.gateways.stripe_connect import (
    SIGNATURE_TOLERANCE_SECONDS,
    TIMEOUT,
    StripeConnectClient,
    construct_connect_event,
)

__all__ = [
    "SIGNATURE_TOLERANCE_SECONDS",
    "TIMEOUT",
    "StripeConnectClient",
    "construct_connect_event",
]
