"""The payout providers behind a small interface (STYLE.md: one adapter module per SDK).

- `base`: the errors and the Protocols the payout code talks to; imports no SDK and nothing
  of payouts, so every adapter can import it.
- `paypal`: PayPal Payouts, the one module that imports paypalrestsdk.
- `stripe_connect`: Stripe Connect (accounts, account links, transfers, the Connect
  endpoint's signatures), built on commissions.gateways.stripe, the one module that imports
  the Stripe SDK.
- `registry`: the on/off switches and the configured client for each provider.

Nothing is re-exported here: importing `base` must not load an SDK."""
