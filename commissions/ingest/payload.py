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
