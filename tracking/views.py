"""The tracked redirect: `/r/<path>/<username>` and the root short link `/<username>`.

Thin adapter: parse the request, `services.record_click`, then `links.destination` (the
Location, from SITE_URL only, and the cookies: the same recipe as the click API's), set them.
No database query when the username is cached and clicks are buffered in Redis.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from tracking import links, services


def _keep_existing_cookie(request: HttpRequest) -> bool:
    """First referrer wins: a cookie already set by an earlier click stays (with its click),
    unless settings.ATTRIBUTION is "last_click"."""
    if settings.ATTRIBUTION == "last_click":
        return False
    existing = request.COOKIES.get(links.COOKIE_NAME, "")
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
    dest = links.destination(
        path=path if safe is not None else "/",
        params=params,
        referrer=referrer,
        honoured=outcome.affiliate if outcome.honoured else None,
        click_id=outcome.click_id,
        now=now,
        secure=links.secure_cookies(request),
    )
    response = HttpResponse(status=302)
    response["Location"] = dest.location
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "strict-origin-when-cross-origin"
    if dest.cookies and not _keep_existing_cookie(request):
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
    if path.endswith("/"):  # /r/blog/post/alice/ (a trailing slash after the username)
        path = path[:-1]
    *segments, username = path.split("/")
    return _redirect(request, segments, username)


def short_link(request: HttpRequest, username: str) -> HttpResponse:
    return _redirect(request, [], username)
