"""Reads of affiliates shared by views, the API, tracking and the dashboard."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q, QuerySet

from affiliates import resolver_cache
from affiliates.models import Affiliate, ApiKey, Coupon, Username
from affiliates.resolver_cache import (
    GENERATION_KEY,
    INACTIVE_USER,
    ResolvedAffiliate,
    decode_answer,
)

if TYPE_CHECKING:
    from redis import Redis


# The redirect resolves a username on every click, so answers are memoised in each process
# and stamped with the resolver's generation (affiliates.resolver_cache: the shared cache's
# keys, encoding and generation, in Redis when REDIS_URL is set, else in a file under var/).
#
# - resolve_username(): always current — one Redis call (the generation, and the answer
#   other processes already found in this generation) or a small file read, and a SELECT only
#   when nobody has resolved the name in this generation yet.
# - resolve_username_memoised(): no round trip at all when memoised; the caller must check
#   the generation it gets back. tracking.clicks does so inside the same Redis script that
#   records the click, so an honoured click costs one Redis call and no SELECT.
_MEMO_MAX = 200_000  # random 404 paths must not grow a worker without bound
_memo: dict[str, tuple[str, ResolvedAffiliate | None]] = {}
_redis: Redis | None = None


def _redis_client() -> Redis | None:
    """One connection pool per process (gunicorn forks before the first request)."""
    global _redis
    if _redis is None and settings.REDIS_URL:
        import redis

        _redis = redis.Redis.from_url(settings.REDIS_URL)
    return _redis


# One round trip: the current generation (created when missing) and the answer cached
# under it, if any.
_GENERATION_AND_ANSWER = (
    resolver_cache.lua_lookup(generation_key="KEYS[1]", name="ARGV[1]", token="ARGV[2]")
    + "return {g, answer}\n"
)


def resolver_generation() -> str:
    return resolver_cache.current_generation(_redis_client())


def _normalise(name: str) -> str | None:
    name = (name or "").strip().lower()
    return name if name and len(name) <= 30 else None


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
    check `is_approved`; a deactivated user's affiliate reads status INACTIVE_USER).
    Case-insensitive. Always current; a SELECT only on a memo miss."""
    normalised = _normalise(name)
    if normalised is None:
        return None
    name = normalised
    client = _redis_client()
    if client is None:
        generation = resolver_generation()  # before the SELECT: a change in between is seen
        hit = _memo.get(name)
        if hit is not None and hit[0] == generation:
            return hit[1]
        value = _lookup(name)
    else:
        raw_generation, shared = client.eval(
            _GENERATION_AND_ANSWER, 1, GENERATION_KEY, name, resolver_cache.new_token()
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
            resolver_cache.store_answer(client, generation=generation, name=name, value=value)
    _remember(name, generation, value)
    return value


def resolve_username_memoised(name: str) -> tuple[ResolvedAffiliate | None, str | None]:
    """The hot path's lookup: (answer, generation it belongs to), with no round trip when
    memoised. The answer may be stale: the caller must compare the generation with the
    current one (tracking.clicks does it atomically with the click write)."""
    normalised = _normalise(name)
    if normalised is None:
        return None, None
    hit = _memo.get(normalised)
    if hit is not None:
        return hit[1], hit[0]
    value = resolve_username(normalised)
    generation = _memo[normalised][0]
    return value, generation


def forget_usernames(names: list[str]) -> None:
    """A username or an affiliate's status changed (call on commit): every process's memo
    becomes stale at once. `names` is kept for the callers' clarity; the generation is global
    because changes are rare (admin actions) and a refill is one SELECT per name."""
    _memo.clear()
    resolver_cache.bump_generation(_redis_client())


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


def get_affiliate_by_name_or_public_id(value: str) -> Affiliate | None:
    """The affiliate a caller names by username (current or any earlier one, any case) or,
    failing that, by public id: the link API's `affiliate` and a customer's declared
    "who referred you?". Whatever its status (callers check it)."""
    affiliates = Affiliate.objects.select_related("user")
    resolved = resolve_username(value)
    if resolved is not None:
        found = affiliates.filter(pk=resolved.id).first()
        if found is not None:
            return found
    return affiliates.filter(public_id=value).first()


def get_coupon_by_code(code: str) -> Coupon | None:
    """A coupon by its code, any case, active or not (callers say which it is)."""
    return Coupon.objects.select_related("affiliate__user").filter(code__iexact=code).first()


def active_coupon_code(*, affiliate_id: int, code: str) -> str | None:
    """The stored spelling of `code` when it is an active coupon of this affiliate, else
    None (the redirect's ?coupon=: one indexed query, only when a link carries one)."""
    code = code.strip()
    if not code or len(code) > 64 or "\x00" in code:
        return None
    return (
        Coupon.objects.filter(affiliate_id=affiliate_id, code__iexact=code, is_active=True)
        .values_list("code", flat=True)
        .first()
    )


def get_coupon_for_stripe_discount(
    *, coupon_ids: list[str], promotion_code_ids: list[str], codes: list[str]
) -> Coupon | None:
    """The active affiliate coupon a Stripe invoice's discount stands for, or None: by its
    Stripe coupon id or promotion code id as set in admin, else by its code (a promotion
    code's customer-facing code, or a Stripe coupon whose id is the code), any case. When a
    discount matches several (two discounts on one invoice), the one set up by id wins,
    then the oldest coupon: deterministic, so a reprocess credits the same affiliate."""
    if not (coupon_ids or promotion_code_ids or codes):
        return None
    match = Q()
    if coupon_ids:
        match |= Q(stripe_coupon_id__in=coupon_ids)
    if promotion_code_ids:
        match |= Q(stripe_promotion_code_id__in=promotion_code_ids)
    found = list(
        Coupon.objects.select_related("affiliate__user")
        .filter(match, is_active=True)
        .order_by("pk")
        if coupon_ids or promotion_code_ids
        else []
    )
    if found:
        return found[0]
    by_code = Q()
    for code in [*codes, *coupon_ids]:
        by_code |= Q(code__iexact=code)
    return (
        Coupon.objects.select_related("affiliate__user")
        .filter(by_code, is_active=True)
        .order_by("pk")
        .first()
    )


def get_approved_employee(name: str) -> Affiliate | None:
    """An employee affiliate named at signup or upgrade, by username or public id: approved,
    with an active account, or None."""
    raw = name.strip()
    return (
        Affiliate.objects.select_related("user")
        .filter(Q(username=raw.lower()) | Q(public_id=raw))
        .filter(is_employee=True, status=Affiliate.Status.APPROVED, user__is_active=True)
        .first()
    )


def list_employees() -> QuerySet[Affiliate]:
    """The employees the product's upgrade picker offers: approved employee affiliates with
    an active account (the ones get_approved_employee accepts), by username."""
    return (
        Affiliate.objects.filter(
            is_employee=True, status=Affiliate.Status.APPROVED, user__is_active=True
        )
        .only("public_id", "username")
        .order_by("username")
    )


def list_affiliates(
    *, status: str | None = None, q: str | None = None, early_access: bool | None = None
) -> QuerySet[Affiliate]:
    """Affiliates newest first, for the API and admin tools. `q` matches a username (current
    or earlier) or e-mail by substring, or a public id exactly; `early_access` keeps those
    with (True) or without (False) the perk."""
    queryset = Affiliate.objects.select_related("plan", "user").order_by("-created_at", "-pk")
    if status:
        queryset = queryset.filter(status=status)
    if early_access is not None:
        queryset = queryset.filter(early_access=early_access)
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
