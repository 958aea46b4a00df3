# Sourced by bin/run-all.sh: starts the local fake PayPal Payouts + Stripe Connect peer
# (devtools/peers/) and points Ambassador at it, unless real credentials are set.
# Appends its pid to `pids` so Ctrl-C stops it with the rest.
PEER_PORT=${PAYOUT_PEER_PORT:-8421}
if [ -z "${PAYPAL_CLIENT_ID:-}" ] && [ -z "${STRIPE_CONNECT_SECRET_KEY:-}" ]; then
  $BIN/python -m devtools.peers --host 127.0.0.1 --port "$PEER_PORT" \
    --webhook-id WH-DEMO --paypal-webhook-url "http://$HOST:$PORT/webhooks/paypal/" & pids+=($!)
  export PAYPAL_CLIENT_ID=demo-client PAYPAL_CLIENT_SECRET=demo-secret PAYPAL_MODE=sandbox
  export PAYPAL_API_BASE="http://127.0.0.1:$PEER_PORT" PAYPAL_WEBHOOK_ID=WH-DEMO
  export STRIPE_CONNECT_SECRET_KEY=sk_test_demo STRIPE_CONNECT_API_BASE="http://127.0.0.1:$PEER_PORT"
  echo "Local PayPal / Stripe Connect peer on http://127.0.0.1:$PEER_PORT (payouts complete offline)"
fi
