"""Recording a click: classify it (ad, bot, unknown name) and store it through the click
buffer (tracking.clicks), resolving the username from the resolver's cache.

The redirect's hot path: no database query when the username is cached and clicks are
buffered in Redis.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from redis.exceptions import RedisError

from affiliates.selectors import ResolvedAffiliate, resolve_username, resolve_username_memoised
from tracking import clicks as buffer
from tracking import links

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClickOutcome:
    """What the redirect (or the click API) does with one click."""

    affiliate: ResolvedAffiliate | None  # None: unknown, or not approved (suspended…)
    click_id: int | None  # None when nothing was recorded
    reason: str  # "" when honoured; ad_param / ad_referrer / bot / unknown

    @property
    def honoured(self) -> bool:
        return self.affiliate is not None and not self.reason


class NeedsDatabase(Exception):
    """record_click(redis_only=True) could not answer with Redis alone; nothing was
    recorded."""


def record_click(
    *,
    username: str,
    landing_path: str,
    params: list[tuple[str, str]],
    referrer: str,
    user_agent: str,
    ip: str,
    now: datetime,
    redis_only: bool = False,
) -> ClickOutcome:
    """Classify one click and record it. Honoured clicks and rejected (ad, bot) clicks of an
    approved affiliate are recorded; unknown names and affiliates that are not approved are
    not recorded at all (random 404 paths would otherwise fill the table).

    No database query on the hot path: the resolver is cached and the write goes to the
    Redis buffer (see tracking.clicks).

    Redis down or refusing writes (maxmemory reached): the visitor still lands on the page,
    with no cookie and nothing recorded (reason "unavailable", logged), rather than a 500.
    Writing such clicks straight to the table instead could reuse ids Redis already handed
    to clicks still in its buffer, which that buffer's flush would then drop as duplicates.

    `redis_only`: answer only what the one Redis call can (the fast lane's first try, made
    without Django's request signals); raises NeedsDatabase, with nothing recorded, when the
    click needs the database (a name not resolved in this generation yet, a missing id
    counter, or no Redis buffer at all) — the caller then calls again without it."""
    try:
        return _record_click(
            username=username,
            landing_path=landing_path,
            params=params,
            referrer=referrer,
            user_agent=user_agent,
            ip=ip,
            now=now,
            redis_only=redis_only,
        )
    except RedisError:
        log.exception("click not recorded: Redis is unavailable")
        return ClickOutcome(affiliate=None, click_id=None, reason="unavailable")


def _record_click(
    *,
    username: str,
    landing_path: str,
    params: list[tuple[str, str]],
    referrer: str,
    user_agent: str,
    ip: str,
    now: datetime,
    redis_only: bool,
) -> ClickOutcome:
    if redis_only and not buffer.buffered():
        raise NeedsDatabase  # every click is an INSERT: the caller's full path
    name = links.normalise_username(username)
    unknown = ClickOutcome(affiliate=None, click_id=None, reason="unknown")
    if not name:
        return unknown
    reason = links.ad_reason(params, referrer)
    bot = links.is_bot(user_agent)
    if not reason and bot:
        reason = "bot"
    domain = links.referrer_domain(referrer)
    row = {
        "at": now,
        "landing_path": landing_path[:500],
        "referrer_domain": domain,
        "medium": links.medium_for(domain),
        "device": "bot" if bot else links.device_for(user_agent),
        "visitor_hash": links.visitor_hash(ip=ip, user_agent=user_agent, day=now.date()),
        "honoured": not reason,
        "reason": reason,
    }
    if buffer.buffered():
        # One Redis call resolves and records (see tracking.clicks.resolve_and_write); the
        # slow path below runs only for a name nobody resolved in this generation yet, or a
        # missing id counter.
        answered, resolved, click_id = buffer.resolve_and_write(name=name, row=row)
        if answered and (resolved is None or not resolved.is_approved):
            return unknown
        if click_id is not None:
            return ClickOutcome(affiliate=resolved, click_id=click_id, reason=reason)
    if redis_only:
        raise NeedsDatabase
    for _ in range(3):
        resolved, generation = _resolve_for_click(name)
        if resolved is None or not resolved.is_approved:
            return unknown
        click_id = buffer.write_click({**row, "affiliate_id": resolved.id}, generation=generation)
        if click_id is not None:
            return ClickOutcome(affiliate=resolved, click_id=click_id, reason=reason)
        # A username or status changed since this process memoised the answer: nothing was
        # written; refresh the memo and try again.
        resolve_username(name)
    return unknown


def _resolve_for_click(name: str) -> tuple[ResolvedAffiliate | None, str | None]:
    """With the Redis buffer: the memoised answer and its generation (checked by the click
    write itself, so no round trip here). A negative answer is never trusted from the memo,
    since no write will check it: it is re-validated (one GET). Without the buffer: the
    always-current resolver."""
    if buffer.buffered():
        resolved, generation = resolve_username_memoised(name)
        if resolved is not None and resolved.is_approved:
            return resolved, generation
    return resolve_username(name), None


def flush_clicks() -> int:
    """Move buffered clicks into the table (the beat job, every 2 s); rows written."""
    return buffer.flush_clicks()
