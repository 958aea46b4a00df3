"""`python -m devtools.peers --port 8421 [--webhook-id ID] [--paypal-webhook-url URL]`: the
local PayPal + Stripe Connect peer in the foreground (bin/demo-peers.sh starts it for
`make run`)."""

from devtools.peers.server import main

main()
