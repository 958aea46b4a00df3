"""Reads of affiliates shared by views, the API, tracking and the dashboard."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, QuerySet

from affiliates.models import Affiliate, ApiKey, Username


@dataclass(frozen=True, slots=True)
class ResolvedAffiliate:
    id: int
    public_id: str
    username: str  # the current username (the resolved name may be an earlier alias)
    status: str

    @property
    def is_approved(self) -> bool:
        return self.status == Affiliate.Status.APPROVED


# The redirect resolves a username on every click, so answers are memoised in each process
# and stamped with the resolver's *generation*: a random token that every username or status
# change replaces (forget_usernames, on commit). The generation lives in Redis when REDIS_URL
# is set (shared by every web process), else in a file under var/ (the one-machine setup).
#
# - resolve_username(): always current — one Redis call (the generation, and the answer
#   other processes already found in this generation) or a small file read, and a SELECT only
#   when nobody has resolved the name in this generation yet.
# - resolve_username_memoised(): no round trip at all when memoised; the caller must check
#   the generation it gets back. tracking.clicks does so inside the same Redis script that
#   records the click, so an honoured click costs one Redis call and no SELECT.
GENERATION_KEY = "ambassador:resolver:generation"
_GENERATION_FILE = settings.VAR_DIR / "resolver-generation"
_MEMO_MAX = 200_000  # random 404 paths must not grow a worker without bound
_memo: dict[str, tuple[str, ResolvedAffiliate | None]] = {}
_redis = None


def _redis_client():
    """One connection pool per process (gunicorn forks before the first request)."""
    global _redis
    if _redis is None and settings.REDIS_URL:
        import redis

        _redis = redis.Redis.from_url(settings.REDIS_URL)
    return _redis


# One round trip: the current generation (created when missing — first use, or Redis was
# flushed: every memo becomes stale) and the answer cached under it, if any. The shared
# answers live in one hash per generation, so a change simply starts a new, empty hash.
_GENERATION_AND_ANSWER = """
local g = redis.call('GET', KEYS[1])
if not g then
  redis.call('SET', KEYS[1], ARGV[2], 'NX')
  g = redis.call('GET', KEYS[1])
end
return {g, redis.call('HGET', KEYS[1] .. ':' .. g, ARGV[1])}
"""
_SHARED_TTL = 24 * 60 * 60
_NONE = "-"


def _encode(value: ResolvedAffiliate | None) -> str:
    if value is None:
        return _NONE
    return f"{value.id}|{value.public_id}|{value.username}|{value.status}"


def decode_answer(raw: bytes) -> ResolvedAffiliate | None:
    """A shared answer as stored in the generation's hash (tracking.clicks reads it in Lua)."""
    text = raw.decode()
    if text == _NONE:
        return None
    pk, public_id, username, status = text.split("|")
    return ResolvedAffiliate(int(pk), public_id, username, status)


def resolver_generation() -> str:
    client = _redis_client()
    if client is not None:
        value = client.get(GENERATION_KEY)
        if value is None:  # first use, or Redis was flushed: every memo becomes stale
            client.set(GENERATION_KEY, secrets.token_hex(8), nx=True)
            value = client.get(GENERATION_KEY)
        return value.decode()
    try:
        return _GENERATION_FILE.read_text()
    except FileNotFoundError:
        return _new_file_generation()


def _new_file_generation() -> str:
    token = secrets.token_hex(8)
    tmp = _GENERATION_FILE.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(token)
    tmp.replace(_GENERATION_FILE)  # atomic: a reader sees the old token or the new one
    return token


def _normalise(name: str) -> str | None:
    name = (name or "").strip().lower()
    return name if name and len(name) <= 30 else None


# The resolver's status for an approved affiliate whose user account is deactivated: its
# links are not honoured, like a suspended one's. Letters only (tracking.clicks' Lua script
# reads the status as `%a+`) and not a real status, so nothing mistakes it for approved.
INACTIVE_USER = "inactive"


def _lookup(name: str) -> ResolvedAffiliate | None:
    row = (
        Username.objects.filter(name=name)
        .values_list(
            "affiliate_id",
            "affiliate__public_id",
            "affiliate__username",
            "affiliate__status",
            "affiliate__user__is_active",
        )
        .first()
    )
    if row is None:
        return None
    pk, public_id, username, status, user_active = row
    return ResolvedAffiliate(pk, public_id, username, status if user_active else INACTIVE_USER)


def _remember(name: str, generation: str, value: ResolvedAffiliate | None) -> None:
    if len(_memo) >= _MEMO_MAX:
        _memo.clear()
    _memo[name] = (generation, value)


def resolve_username(name: str) -> ResolvedAffiliate | None:
    """Current username or any earlier one → its affiliate, whatever its status (callers
    check `is_approved`; a deactivated user's affiliate reads status INACTIVE_USER). Case-insensitive. Always current; a SELECT only on a memo miss."""
    name = _normalise(name)
    if name is None:
        return None
    client = _redis_client()
    if client is None:
        generation = resolver_generation()  # before the SELECT: a change in between is seen
        hit = _memo.get(name)
        if hit is not None and hit[0] == generation:
            return hit[1]
        value = _lookup(name)
    else:
        raw_generation, shared = client.eval(
            _GENERATION_AND_ANSWER, 1, GENERATION_KEY, name, secrets.token_hex(8)
        )
        generation = raw_generation.decode()
        hit = _memo.get(name)
        if shared is not None:
            value = decode_answer(shared)
        else:
            # Read after the generation: if a change commits meanwhile, this answer lands in
            # the old generation's hash, which nobody reads any more. (A memo of this
            # generation is as good as the SELECT; the hash may have expired under it.)
            value = hit[1] if hit is not None and hit[0] == generation else _lookup(name)
            key = f"{GENERATION_KEY}:{generation}"
            pipe = client.pipeline(transaction=False)
            pipe.hset(key, name, _encode(value))
            pipe.expire(key, _SHARED_TTL)
            pipe.execute()
    _remember(name, generation, value)
    return value


def resolve_username_memoised(name: str) -> tuple[ResolvedAffiliate | None, str | None]:
    """The hot path's lookup: (answer, generation it belongs to), with no round trip when
    memoised. The answer may be stale: the caller must compare the generation with the
    current one (tracking.clicks does it atomically with the click write)."""
    name = _normalise(name)
    if name is None:
        return None, None
    hit = _memo.get(name)
    if hit is not None:
        return hit[1], hit[0]
    value = resolve_username(name)
    generation = _memo[name][0]
    return value, generation


def forget_usernames(names: list[str]) -> None:
    """A username or an affiliate's status changed (call on commit): every process's memo
    becomes stale at once. `names` is kept for the callers' clarity; the generation is global
    because changes are rare (admin actions) and a refill is one SELECT per name."""
    _memo.clear()
    client = _redis_client()
    if client is not None:
        client.set(GENERATION_KEY, secrets.token_hex(8))
    else:
        _new_file_generation()


def clear_resolver_memo() -> None:
    """Forget this process's memo and connection (tests; a forked worker)."""
    global _redis
    _memo.clear()
    if _redis is not None:
        _redis.close()
    _redis = None


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def get_api_key_by_raw(*, raw: str) -> ApiKey | None:
    return ApiKey.objects.filter(hashed_key=hash_api_key(raw), revoked_at__isnull=True).first()


def get_affiliate_by_public_id(public_id: str) -> Affiliate | None:
    return Affiliate.objects.select_related("user", "plan").filter(public_id=public_id).first()


def list_affiliates(*, status: str | None = None, q: str | None = None) -> QuerySet[Affiliate]:
    """Affiliates newest first, for the API and admin tools. `q` matches a username (current
    or earlier) or e-mail by substring, or a public id exactly."""
    queryset = Affiliate.objects.select_related("plan", "user").order_by("-created_at", "-pk")
    if status:
        queryset = queryset.filter(status=status)
    if q:
        q = q.strip()
        matches = (
            Q(username__icontains=q)
            | Q(user__email__icontains=q)
            | Q(public_id=q)
            | Q(pk__in=Username.objects.filter(name__icontains=q).values("affiliate_id"))
        )
        queryset = queryset.filter(matches)
    return queryset
