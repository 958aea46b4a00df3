"""Stage one of Stripe events: verify, store, answer fast. Processing is stage two."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from commissions import stripe_client
from commissions.events import store_event


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    # The signature covers the raw bytes: verify request.body before any parsing.
    try:
        event = stripe_client.construct_event(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
    except stripe_client.NotConfigured as exc:
        return _error("not_configured", str(exc), 503)
    except stripe_client.InvalidWebhook as exc:
        return _error("invalid_signature", str(exc), 400)
    if not event.get("id") or not event.get("type"):
        return _error("invalid", "Not a Stripe event.", 400)
    # Store what Stripe sent, byte for byte as JSON (the SDK's dict may normalise).
    payload = json.loads(request.body)
    row, created = store_event(provider="stripe", event=payload, via="webhook", now=timezone.now())
    return JsonResponse({"received": True, "duplicate": not created}, status=200)
