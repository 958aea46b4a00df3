"""What the provider modules of the peer share: the request as the server hands it to a
route, the reply a route gives back, and the state every provider's state builds on (one
lock, one id sequence). Imports no sibling, so `paypal`, `stripe_connect` and `server` all
import it without a cycle."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# (HTTP status, JSON payload — or the Location of a 302 —, extra headers)
Reply = tuple[int, Any, dict[str, str]]


@dataclass(frozen=True)
class PeerRequest:
    method: str
    path: str  # without the query and the trailing slash
    parts: list[str]  # the path's non-empty segments
    query: str
    raw: bytes  # the body as received (POST only)
    target: str  # the request line's path with its query, as sent
    headers: Mapping[str, str]


class StateBase:
    """One lock for all of a peer's state (the server is threaded), one id sequence (ids
    are unique across providers, so a test can tell them apart)."""

    lock: threading.RLock
    seq: Iterator[int]

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self.seq):08d}"
