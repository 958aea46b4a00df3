"""Reading a stored event's payload defensively: a provider's JSON (or a buggy sender's) may
put anything anywhere, and one odd value must become a recorded error or a skip, never an
exception out of the batch. Pure functions, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from commissions.ingest.errors import MalformedEvent
from commissions.models import StoredEvent


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def data_object(event: StoredEvent) -> dict[str, Any]:
    """The event's `data.object`; MalformedEvent when it is not a JSON object."""
    obj = as_dict(as_dict(event.payload).get("data")).get("object")
    if not isinstance(obj, dict):
        raise MalformedEvent(
            f"data.object is {type(obj).__name__}, not an object.", code="malformed_event"
        )
    return obj


def loose_object(event: StoredEvent) -> dict[str, Any]:
    """`data.object`, or {} when malformed (for prefetches and bookkeeping; the handlers
    use data_object and report the problem)."""
    return as_dict(as_dict(as_dict(event.payload).get("data")).get("object"))


def stripe_id(value: Any) -> str:
    """A Stripe id from an id or an expanded object; "" for anything else (Stripe ids are
    short ASCII; a NUL byte would make PostgreSQL refuse the whole query)."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    text = str(value)
    return "" if "\x00" in text or len(text) > 255 else text


def to_datetime(value: Any, default: datetime) -> datetime:
    """Unix seconds as an aware UTC datetime; `default` when the value is empty."""
    return datetime.fromtimestamp(int(value), tz=UTC) if value else default


def without_nul(value: Any) -> Any:
    """`value` with U+0000 replaced by U+FFFD in every string, keys included: PostgreSQL's
    jsonb cannot hold U+0000 (it refuses the whole row)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    return value


# Enough for any real invoice (Stripe allows 20 discounts per invoice); a payload with more
# is odd, and reading on would only cost queries.
_MAX_DISCOUNTS = 20


def discount_refs(invoice: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """(coupon ids, promotion code ids, promotion codes) an invoice's discounts name, in
    every shape Stripe sends: the legacy `discount` object (`coupon` an object,
    `promotion_code` an id or an expanded object), `discounts` (ids, or expanded Discount
    objects whose coupon sits under `source.coupon` since API 2025), the same under
    `total_discount_amounts[].discount` and each line's `discounts`. A discount sent as a
    bare `di_…` id names no coupon (webhooks do not expand it): the subscription's or the
    legacy field usually does."""
    found: list[dict[str, Any]] = []
    candidates: list[Any] = [invoice.get("discount")]
    candidates += _as_list(invoice.get("discounts"))
    candidates += [
        as_dict(t).get("discount") for t in _as_list(invoice.get("total_discount_amounts"))
    ]
    for line in _as_list(as_dict(invoice.get("lines")).get("data"))[:_MAX_DISCOUNTS]:
        candidates += _as_list(as_dict(line).get("discounts"))
    for value in candidates:
        if isinstance(value, dict) and len(found) < _MAX_DISCOUNTS:
            found.append(value)
    coupons: list[str] = []
    promos: list[str] = []
    codes: list[str] = []
    for discount in found:
        coupon = discount.get("coupon") or as_dict(discount.get("source")).get("coupon")
        promo = discount.get("promotion_code")
        for bucket, value in ((coupons, stripe_id(coupon)), (promos, stripe_id(promo))):
            if value and value not in bucket:
                bucket.append(value)
        code = stripe_id(as_dict(promo).get("code"))
        if code and code not in codes:
            codes.append(code)
    return coupons, promos, codes


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
