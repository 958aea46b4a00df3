"""Adapters to the commissions app's outside services, one module per SDK (STYLE.md: "Provider
SDKs are imported in one adapter module each"). `stripe` is the only module in the project
that imports the Stripe SDK; payouts' Connect gateway builds on it (payouts sits above
commissions), so nothing here may import payouts. Nothing is re-exported here, so importing
one gateway never loads another's SDK."""
