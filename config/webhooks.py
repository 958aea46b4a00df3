"""Shared by the provider webhooks (Stripe in commissions, PayPal in payouts)."""

from __future__ import annotations

import json
import re

# Provider ids and event types are short printable ASCII ("evt_1Nq…", "WH-7Y…",
# "invoice.paid"): anything else is not a provider's event.
_TOKEN = re.compile(r"[!-~]+")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse_event(body: bytes, *, id_max: int, type_key: str, type_max: int) -> dict | None:
    """A webhook body as a JSON object with a string `id` and type, or None. Checked before
    anything is stored: a body nested past Python's recursion limit, a list, a number, an id
    that is an object or longer than its column would otherwise end in a 500 (and the
    provider's retries with it)."""
    if b"\\u0000" in body:
        # PostgreSQL's jsonb cannot hold U+0000 ("unsupported Unicode escape sequence"): the
        # INSERT would fail with a 500 on every retry. Refused before storing.
        return None
    try:
        # NaN / Infinity are not JSON (RFC 8259) though Python reads them: the JSON column
        # refuses them at INSERT, after the signature passed, which was a 500 on every retry.
        event = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(event, dict):
        return None
    event_id, event_type = event.get("id"), event.get(type_key)
    for value, longest in ((event_id, id_max), (event_type, type_max)):
        if not isinstance(value, str) or len(value) > longest or not _TOKEN.fullmatch(value):
            return None
    return event
