"""The tracked redirect: `/r/<path>/<username>` and the root short link `/<username>`.

Thin adapter: parse the request, `services.record_click`, build a Location from SITE_URL
only (tracking.links), set the cookie. No database query when the username is cached and
clicks are buffered in Redis.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from tracking import links, services

COOKIE_NAME = "referral"
CLICK_COOKIE_NAME = "referral_click"


def _keep_existing_cookie(request: HttpRequest) -> bool:
    """First referrer wins: a cookie already set by an earlier click stays (with its click),
    unless settings.ATTRIBUTION is "last_click"."""
    if settings.ATTRIBUTION == "last_click":
        return False
    existing = request.COOKIES.get(COOKIE_NAME, "")
    return bool(links.PUBLIC_ID_RE.fullmatch(existing))


def _redirect(request: HttpRequest, segments: list[str], username: str) -> HttpResponse:
    now = timezone.now()
    try:
        params = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    except ValueError:  # too many fields
        params = []
    safe = links.safe_segments(segments)
    path = links.landing_path(safe)
    referrer = request.META.get("HTTP_REFERER", "")
    outcome = services.record_click(
        username=username,
        landing_path=path,
        params=params,
        referrer=referrer,
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        ip=links.client_ip(request.META),
        now=now,
    )
    query = links.clean_params(params)
    if outcome.honoured and settings.UTM_TAGS:
        domain = links.referrer_domain(referrer)
        query = links.utm_params(
            query,
            domain=domain,
            medium=links.medium_for(domain),
            username=outcome.affiliate.username,
        )
    response = HttpResponse(status=302)
    response["Location"] = links.build_location(path if safe is not None else "/", query)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "strict-origin-when-cross-origin"
    if outcome.honoured and not _keep_existing_cookie(request):
        cookie = {
            "max_age": settings.REFERRAL_COOKIE_DAYS * 24 * 60 * 60,
            "domain": settings.COOKIE_DOMAIN,
            "path": "/",
            # Secure always, except a developer's DEBUG server on plain http.
            "secure": not (settings.DEBUG and not request.is_secure()),
            "httponly": True,
            "samesite": "Lax",
        }
        response.set_cookie(COOKIE_NAME, outcome.affiliate.public_id, **cookie)
        response.set_cookie(
            CLICK_COOKIE_NAME, f"{outcome.click_id}.{int(now.timestamp())}", **cookie
        )
    return response


def tracked_redirect(request: HttpRequest, path: str) -> HttpResponse:
    if path.endswith("/"):  # /r/blog/post/alice/ (a trailing slash after the username)
        path = path[:-1]
    *segments, username = path.split("/")
    return _redirect(request, segments, username)


def short_link(request: HttpRequest, username: str) -> HttpResponse:
    return _redirect(request, [], username)
