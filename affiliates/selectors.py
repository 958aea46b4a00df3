"""Reads of affiliates shared by views, the API, tracking and the dashboard."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.cache import cache

from affiliates.models import Affiliate, ApiKey, Username

# The redirect resolves a username on every click, so the answer is cached (Redis in
# production) and invalidated by affiliates.services on any username or status change.
_RESOLVER_PREFIX = "resolver:v1:"
_RESOLVER_TTL = 24 * 60 * 60
_MISS = "-"  # cached "no such username"


@dataclass(frozen=True, slots=True)
class ResolvedAffiliate:
    id: int
    public_id: str
    username: str  # the current username (the resolved name may be an earlier alias)
    status: str

    @property
    def is_approved(self) -> bool:
        return self.status == Affiliate.Status.APPROVED


def resolver_cache_key(name: str) -> str:
    return _RESOLVER_PREFIX + name


def resolve_username(name: str) -> ResolvedAffiliate | None:
    """Current username or any earlier one → its affiliate, whatever its status (callers
    check `is_approved`). Case-insensitive. No database query when the answer is cached."""
    name = (name or "").strip().lower()
    if not name or len(name) > 30:
        return None
    key = resolver_cache_key(name)
    hit = cache.get(key)
    if hit == _MISS:
        return None
    if hit is not None:
        return ResolvedAffiliate(*hit)
    row = (
        Username.objects.filter(name=name)
        .values_list(
            "affiliate_id", "affiliate__public_id", "affiliate__username", "affiliate__status"
        )
        .first()
    )
    cache.set(key, row if row else _MISS, _RESOLVER_TTL)
    return ResolvedAffiliate(*row) if row else None


def forget_usernames(names: list[str]) -> None:
    """Drop cached resolutions (call on commit after a username or status change)."""
    cache.delete_many([resolver_cache_key(n.lower()) for n in names])


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def get_api_key_by_raw(*, raw: str) -> ApiKey | None:
    return ApiKey.objects.filter(hashed_key=hash_api_key(raw), revoked_at__isnull=True).first()


def get_affiliate_by_public_id(public_id: str) -> Affiliate | None:
    return Affiliate.objects.select_related("user", "plan").filter(public_id=public_id).first()
