"""Shared by the provider webhooks (Stripe in commissions, PayPal in payouts)."""

from __future__ import annotations

import json


def parse_event(body: bytes, *, id_max: int, type_key: str, type_max: int) -> dict | None:
    """A webhook body as a JSON object with a string `id` and type, or None. Checked before
    anything is stored: a body nested past Python's recursion limit, a list, a number, an id
    that is an object or longer than its column would otherwise end in a 500 (and the
    provider's retries with it)."""
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(event, dict):
        return None
    event_id, event_type = event.get("id"), event.get(type_key)
    if not isinstance(event_id, str) or not 0 < len(event_id) <= id_max:
        return None
    if not isinstance(event_type, str) or not 0 < len(event_type) <= type_max:
        return None
    return event
