"""The tracked redirect: `/r/<path>/<username>` and the root short link `/<username>`.

Thin adapter: parse the request, `services.record_click`, then `links.destination` (the
Location, from SITE_URL only, and the cookies: the same recipe as the click API's), set them.
No database query when the username is cached and clicks are buffered in Redis.

`answer` is the whole redirect as a function of the request's WSGI environ; the Django views
below and the fast lane in front of Django (tracking.fastlane, which answers nearly every
redirect before the middleware runs) both call it, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from affiliates import selectors as affiliates_selectors
from affiliates.resolver_cache import ResolvedAffiliate
from tracking import links, services

# The redirect's own headers, on every answer (honoured or not).
HEADERS = (
    ("X-Robots-Tag", "noindex, nofollow"),
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
)


@dataclass(frozen=True, slots=True)
class _Secure:
    """links.secure_cookies wants something with is_secure()."""

    secure: bool

    def is_secure(self) -> bool:
        return self.secure


def keep_existing_cookie(existing: str | None) -> bool:
    """First referrer wins: a cookie already set by an earlier click stays (with its click),
    unless settings.ATTRIBUTION is "last_click". `existing`: the request's `referral`."""
    if settings.ATTRIBUTION == "last_click":
        return False
    return bool(links.PUBLIC_ID_RE.fullmatch(existing or ""))


# An affiliate's link may carry one of its own coupons (?coupon=CODE) for the checkout to
# prefill (docs/coupons.md).
COUPON_PARAM = "coupon"


def has_coupon(params: list[tuple[str, str]]) -> bool:
    return any(k.lower() == COUPON_PARAM for k, _ in params)


def carry_coupon(
    params: list[tuple[str, str]], affiliate: ResolvedAffiliate | None, honoured: bool
) -> list[tuple[str, str]]:
    """The link's query with its `coupon` kept only when it is an active coupon of the
    click's affiliate on an honoured click (in its stored spelling), else dropped: a link
    never hands out another affiliate's coupon, an inactive one, or one on an ad click. A
    database query only when the link has a coupon (the hot path has none)."""
    if not has_coupon(params):
        return params
    rest = [(k, v) for k, v in params if k.lower() != COUPON_PARAM]
    if affiliate is None or not honoured:
        return rest
    asked = next(v for k, v in params if k.lower() == COUPON_PARAM)
    code = affiliates_selectors.active_coupon_code(affiliate_id=affiliate.id, code=asked)
    return [*rest, (COUPON_PARAM, code)] if code else rest


def answer(
    meta: Mapping[str, str],
    segments: list[str],
    username: str,
    *,
    secure: bool,
    redis_only: bool = False,
) -> links.Destination:
    """Record the click and return where it lands with the cookies to set (empty when the
    click is not honoured). `meta`: the WSGI environ (HttpRequest.META is the same dict);
    `secure`: the request came over https (SECURE_PROXY_SSL_HEADER included); `redis_only`:
    the fast lane's first try — services.NeedsDatabase, with nothing recorded, when the
    click needs the database (see record_click; a ?coupon= link too: carry_coupon reads it)."""
    now = timezone.now()
    try:
        params = parse_qsl(meta.get("QUERY_STRING", ""), keep_blank_values=True)
    except ValueError:  # too many fields
        params = []
    if redis_only and has_coupon(params):
        raise services.NeedsDatabase
    safe = links.safe_segments(segments)
    path = links.landing_path(safe)
    referrer = meta.get("HTTP_REFERER", "")
    outcome = services.record_click(
        username=username,
        landing_path=path,
        params=params,
        referrer=referrer,
        user_agent=meta.get("HTTP_USER_AGENT", ""),
        ip=links.client_ip(meta),
        now=now,
        redis_only=redis_only,
    )
    return links.destination(
        path=path if safe is not None else "/",
        params=carry_coupon(params, outcome.affiliate, outcome.honoured),
        referrer=referrer,
        honoured=outcome.affiliate if outcome.honoured else None,
        click_id=outcome.click_id,
        now=now,
        secure=links.secure_cookies(_Secure(secure)),
    )


def split_path(path: str) -> tuple[list[str], str]:
    """'blog/post/alice' → (['blog', 'post'], 'alice'); a trailing slash after the username
    (/r/blog/post/alice/) is dropped first."""
    if path.endswith("/"):
        path = path[:-1]
    *segments, username = path.split("/")
    return segments, username


def _redirect(request: HttpRequest, segments: list[str], username: str) -> HttpResponse:
    dest = answer(request.META, segments, username, secure=request.is_secure())
    response = HttpResponse(status=302)
    response["Location"] = dest.location
    for name, value in HEADERS:
        response[name] = value
    if dest.cookies and not keep_existing_cookie(request.COOKIES.get(links.COOKIE_NAME)):
        for c in dest.cookies:
            response.set_cookie(
                c.name,
                c.value,
                max_age=c.max_age,
                domain=c.domain,
                path=c.path,
                secure=c.secure,
                httponly=c.httponly,
                samesite=c.samesite,
            )
    return response


def tracked_redirect(request: HttpRequest, path: str) -> HttpResponse:
    segments, username = split_path(path)
    return _redirect(request, segments, username)


def short_link(request: HttpRequest, username: str) -> HttpResponse:
    return _redirect(request, [], username)
