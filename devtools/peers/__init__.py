"""A small, stateful local peer for PayPal Payouts and Stripe Connect (what localstripe
lacks). Not an installed app and not in the Docker image (.dockerignore): only tests, bench/
and `make run`'s demo use it. The real SDKs talk to it over HTTP.

Used by the tests (started on 127.0.0.1 with a free port: `start_in_thread()`) and by
`make run`'s demo (`python -m devtools.peers --port 8421`, see bin/demo-peers.sh).

- `paypal`: PayPal Payouts' endpoints and webhooks, and its control commands.
- `stripe_connect`: Connect accounts, account links and transfers, and its control commands.
- `server`: the HTTP server joining both, failure injection (5xx, timeout, crash after
  accepting), the generic control endpoints, the command line.
- `base`: what those share (the request a route sees, one lock and id sequence).

Each behaviour carries, beside it, the provider documentation it copies.
"""

from devtools.peers.server import FakeServer, FakeState, start_in_thread

__all__ = ["FakeServer", "FakeState", "start_in_thread"]
