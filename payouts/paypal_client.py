"""Moved: re-exports payouts.gateways.paypal until the lead rewrites the importers at merge."""

# TIMEOUT here is a copy: patch payouts.gateways.paypal.TIMEOUT, which the client reads.

from payouts.gateways.paypal import TIMEOUT, PayPalClient

__all__ = ["TIMEOUT", "PayPalClient"]
