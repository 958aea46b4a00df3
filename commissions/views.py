"""Stage one of Stripe events: verify, store, answer fast. Processing is stage two."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

import commissions.gateways.stripe as stripe_gateway
from commissions.ingest import store_event
from config.webhooks import parse_event


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    # Shape first (cheap, and the SDK's own parsing raises more than it catches on a list or
    # deep nesting); then the signature over the raw bytes, before anything is stored.
    # Errors name what is wrong, never the SDK's message.
    if not stripe_gateway.webhooks_enabled():
        return _error("not_configured", "Stripe webhooks are not configured.", 503)
    payload = parse_event(request.body, id_max=255, type_key="type", type_max=100)
    if payload is None or not isinstance(payload.get("created", 0), int):
        return _error("invalid", "Not a Stripe event.", 400)
    try:
        stripe_gateway.construct_event(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
    except stripe_gateway.NotConfigured:
        return _error("not_configured", "Stripe webhooks are not configured.", 503)
    except stripe_gateway.InvalidWebhook:
        return _error("invalid_signature", "The Stripe-Signature does not verify.", 400)
    # Store what Stripe sent: our own parse of the body (the SDK's dict may normalise), and
    # the body's bytes and signature header untouched, so the event can be verified again.
    row, created = store_event(
        provider="stripe",
        event=payload,
        via="webhook",
        now=timezone.now(),
        raw_body=request.body,
        signature=request.headers.get("Stripe-Signature", ""),
    )
    return JsonResponse({"received": True, "duplicate": not created}, status=200)
