"""PayPal Payouts: the one module that imports paypalrestsdk (1.13, the only Python SDK with
Payouts — PROVIDERS.md). Everything else talks to payouts.gateways.base.PayPalPayouts,
obtained from payouts.gateways.registry.get_paypal()."""

from __future__ import annotations

import json
from typing import Any

import paypalrestsdk
import requests
from django.conf import settings
from paypalrestsdk import exceptions as pp_exc

from payouts.gateways.base import AlreadySentNotFound, PermanentError, TransientError

# Seconds; paypalrestsdk has no timeout of its own, so a stalled peer would hang a worker.
TIMEOUT = (5, 30)


class _Api(paypalrestsdk.Api):
    def http_call(self, url: str, method: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", TIMEOUT)
        return super().http_call(url, method, **kwargs)


def _api() -> paypalrestsdk.Api:
    options: dict[str, Any] = {
        "mode": settings.PAYPAL_MODE,
        "client_id": settings.PAYPAL_CLIENT_ID,
        "client_secret": settings.PAYPAL_CLIENT_SECRET,
    }
    if settings.PAYPAL_API_BASE:
        options["endpoint"] = settings.PAYPAL_API_BASE.rstrip("/")
    return _Api(**options)


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    # paypalrestsdk's HTTP errors all derive from its own ConnectionError: order matters.
    try:
        return fn(*args, **kwargs)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise TransientError(f"PayPal unreachable: {exc}") from exc
    except pp_exc.ServerError as exc:
        raise TransientError(f"PayPal server error: {exc}", response=exc.content) from exc
    except pp_exc.UnauthorizedAccess as exc:
        # Credentials: nothing was sent; retrying later (after the fix) is harmless.
        raise TransientError(f"PayPal refused our credentials: {exc}") from exc
    except (pp_exc.ClientError, pp_exc.Redirection) as exc:
        raise PermanentError(f"PayPal refused: {exc}", response=exc.content) from exc
    except pp_exc.ConnectionError as exc:
        raise TransientError(f"PayPal answered oddly: {exc}") from exc


def _is_duplicate_batch(error: dict) -> bool:
    """PayPal's rejection of a sender_batch_id used in the last 30 days: USER_BUSINESS_ERROR
    naming the SENDER_BATCH_ID field (paypal/PayPal-Ruby-SDK#120) or carrying the documented
    HATEOAS link to the original batch (PROVIDERS.md). Other USER_BUSINESS_ERRORs (funds,
    receiver) and validation errors are refusals: nothing was sent."""
    details = error.get("details") or []
    names_field = any(
        str((d or {}).get("field", "")).upper().endswith("SENDER_BATCH_ID")
        for d in details
        if isinstance(d, dict)
    )
    return error.get("name") == "USER_BUSINESS_ERROR" and (
        names_field or bool(_linked_batch_id(error))
    )


def _linked_batch_id(error: dict) -> str:
    for link in error.get("links") or []:
        href = str((link or {}).get("href", "")) if isinstance(link, dict) else ""
        if "/payments/payouts/" in href:
            return href.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return ""


class PayPalClient:
    def __init__(self) -> None:
        self.api = _api()

    def create_batch(
        self, *, sender_batch_id: str, items: list[dict[str, Any]], provider_batch_id: str = ""
    ) -> dict:
        """`items`: {sender_item_id, receiver, value (decimal string), currency, note}.
        PayPal pays a sender_batch_id once: re-sending after a 5xx or a lost answer is safe.
        A repeat is *rejected* (HTTP 400, USER_BUSINESS_ERROR on SENDER_BATCH_ID, with a
        HATEOAS link to the original): that means "already sent", so the original is read
        through the link (or, without one, through `provider_batch_id` if we stored it) and
        returned as if this call had created it. If it cannot be found, AlreadySentNotFound."""
        payout = paypalrestsdk.Payout(
            {
                "sender_batch_header": {
                    "sender_batch_id": sender_batch_id,
                    "email_subject": f"You have a payout from {settings.PROGRAM_NAME}",
                },
                "items": [
                    {
                        "recipient_type": "EMAIL",
                        "amount": {"value": item["value"], "currency": item["currency"]},
                        "receiver": item["receiver"],
                        "note": item.get("note", ""),
                        "sender_item_id": item["sender_item_id"],
                    }
                    for item in items
                ],
            },
            api=self.api,
        )
        # paypalrestsdk turns a 400 into `create() → False` with the body in `payout.error`.
        if _call(payout.create, sync_mode=False):
            return payout.to_dict()
        error = payout.error or {}
        if not _is_duplicate_batch(error):
            raise PermanentError(
                f"PayPal refused the batch: {json.dumps(error)[:250]}", response=error
            )
        original_id = _linked_batch_id(error) or provider_batch_id
        if original_id:
            try:
                original = self.get_batch(provider_batch_id=original_id)
            except PermanentError as exc:  # 404 (or another refusal) reading the original
                raise AlreadySentNotFound(
                    f"PayPal says sender_batch_id {sender_batch_id} was already used, but its "
                    f"original batch {original_id} cannot be read: {exc.message}",
                    response=error,
                    sender_batch_id=sender_batch_id,
                ) from exc
            original["duplicate_rejection"] = error
            return original
        raise AlreadySentNotFound(
            f"PayPal says sender_batch_id {sender_batch_id} was already used and gave no link "
            "to the original batch.",
            response=error,
            sender_batch_id=sender_batch_id,
        )

    def get_batch(self, *, provider_batch_id: str) -> dict:
        """The batch with all its items (follows PayPal's pages of up to 1000 items)."""
        result: dict[str, Any] | None = None
        page = 1
        while True:
            data = _call(
                self.api.get,
                f"v1/payments/payouts/{provider_batch_id}?page_size=1000&page={page}",
            )
            if result is None:
                result = dict(data)
                result["items"] = list(data.get("items") or [])
            else:
                result["items"].extend(data.get("items") or [])
            links = {link.get("rel") for link in data.get("links") or []}
            if "next" not in links or not data.get("items"):
                return result
            page += 1

    def get_item(self, *, item_id: str) -> dict:
        return dict(_call(self.api.get, f"v1/payments/payouts-item/{item_id}"))

    def verify_webhook(self, *, headers: dict[str, str], body: bytes) -> bool:
        """PayPal verifies its own signature; the SDK's WebhookEvent.verify is broken on
        current pyOpenSSL (always False), so we ask the API as PayPal documents."""
        h = {k.upper(): v for k, v in headers.items()}
        try:
            event = json.loads(body)
        except ValueError:
            return False
        answer = _call(
            self.api.post,
            "v1/notifications/verify-webhook-signature",
            {
                "auth_algo": h.get("PAYPAL-AUTH-ALGO", ""),
                "cert_url": h.get("PAYPAL-CERT-URL", ""),
                "transmission_id": h.get("PAYPAL-TRANSMISSION-ID", ""),
                "transmission_sig": h.get("PAYPAL-TRANSMISSION-SIG", ""),
                "transmission_time": h.get("PAYPAL-TRANSMISSION-TIME", ""),
                "webhook_id": settings.PAYPAL_WEBHOOK_ID,
                "webhook_event": event,
            },
        )
        return answer.get("verification_status") == "SUCCESS"
