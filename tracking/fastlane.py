"""The tracked redirect's fast lane: a WSGI dispatch in front of the Django application.

`/r/<path>/<username>` and the root short link `/<username>` are the one endpoint whose load
grows with every share of every link. Django's middleware stack (sessions, CSRF, auth,
messages, axes, whitenoise, locale) and its URL resolver cost more than the redirect itself
and do nothing for it, so config.wsgi wraps the Django application in `FastLane`: those two
paths are answered here, by the same function the Django views call (tracking.views.answer:
one Redis call resolves and records the click, `links.destination` builds the Location from
SITE_URL only and the cookies), with the headers the middleware would add that matter for a
302 (HSTS over https, X-Content-Type-Options, X-Frame-Options, Cross-Origin-Opener-Policy).

Everything else goes to Django untouched, and so does any redirect request whose answer the
middleware could change, so Django gives exactly today's answer:

- a method other than GET and HEAD (CSRF refuses POST, PUT…; OPTIONS reaches the view);
- a Host not in ALLOWED_HOSTS (Django answers 400), plain http while SECURE_SSL_REDIRECT is
  on (Django answers its 301 to https), settings.PREPEND_WWW or DISALLOWED_USER_AGENTS;
- a one-segment path that another route may answer (`/dashboard/`, `/healthz/live`…): the
  lane asks a regex built from the URLconf itself, so a new route is seen without anyone
  listing it here.

Not copied: `Vary: Accept-Language, Cookie` and `Content-Language`, which describe a body in a
language; the 302 has no body and is `Cache-Control: no-store`, so nothing caches or varies it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIRequest, get_path_info
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.http import http_date

from affiliates.username_rules import RESERVED_UNDER_R
from tracking import links, views
from tracking.services import NeedsDatabase

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
_ROOT_LINK = re.compile(r"/([A-Za-z0-9_-]+)/?\Z")
_NAMED_GROUP = re.compile(r"\(\?P<[^>]+>")
_HOSTS_MEMO_SIZE = 256  # Host values are the client's: bounded, so they cannot grow memory


def _route_regexes(patterns: list, prefix: str = "") -> Iterable[str]:
    """Every route's full regex (includes' prefixes joined to their patterns), except the
    root short link's own."""
    for entry in patterns:
        regex = prefix + entry.pattern.regex.pattern.removeprefix("^")
        if isinstance(entry, URLResolver):
            yield from _route_regexes(entry.url_patterns, regex)
        elif isinstance(entry, URLPattern) and entry.callback is not views.short_link:
            yield regex


def other_routes() -> re.Pattern[str]:
    """A regex matching (at the start of the path without its slash) every path a route
    other than the short link may answer. It may match more than Django would (a converter
    that refuses, a shorter match of an include's prefix): such a path simply goes to
    Django, which answers it as always."""
    alternatives = [_NAMED_GROUP.sub("(?:", r) for r in _route_regexes(get_resolver().url_patterns)]
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


class FastLane:
    def __init__(self, django_app: WSGIApp) -> None:
        self.django_app = django_app
        self._other_routes: re.Pattern[str] | None = None
        self._hosts: dict[str, bool] = {}
        self._extra = self._middleware_headers()
        self._hsts = self._hsts_header()
        proxy = settings.SECURE_PROXY_SSL_HEADER
        self._proxy_header, self._proxy_value = proxy if proxy else (None, None)
        # The settings that make CommonMiddleware or SecurityMiddleware answer instead of the
        # view: then every request goes to Django (rare configurations, not ours).
        self._enabled = not (settings.PREPEND_WWW or settings.DISALLOWED_USER_AGENTS)

    @staticmethod
    def _middleware_headers() -> list[tuple[str, str]]:
        headers = [("Content-Type", f"text/html; charset={settings.DEFAULT_CHARSET}")]
        if settings.SECURE_CONTENT_TYPE_NOSNIFF:
            headers.append(("X-Content-Type-Options", "nosniff"))
        if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
            headers.append(
                ("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY)
            )
        if "django.middleware.clickjacking.XFrameOptionsMiddleware" in settings.MIDDLEWARE:
            headers.append(("X-Frame-Options", settings.X_FRAME_OPTIONS.upper()))
        return headers

    @staticmethod
    def _hsts_header() -> str | None:
        # SecurityMiddleware's header, byte for byte, for a request that came over https.
        if not settings.SECURE_HSTS_SECONDS:
            return None
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        return value

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if self._enabled and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            target = self._target(environ)
            if target is not None and self._edge_ok(environ):
                return self._redirect(environ, start_response, *target)
        return self.django_app(environ, start_response)

    def _target(self, environ: dict) -> tuple[list[str], str] | None:
        """(segments, username) when the path is the redirect's, else None."""
        raw = environ.get("PATH_INFO", "")
        if raw.startswith("/r/"):
            path = get_path_info(environ)  # decoded exactly as Django decodes it
            if path[3:] in RESERVED_UNDER_R:
                return None  # /r/claim-code: Ambassador's own endpoint (config.urls), not a link
            if len(path) > 3:  # ^r/(?P<path>[\s\S]+)\Z, routed first in config.urls
                return views.split_path(path[3:])
            # "/r/" alone is the root short link of the name "r"
        match = _ROOT_LINK.match(raw)
        if match is None:
            return None
        if self._other_routes is None:
            self._other_routes = other_routes()
        if self._other_routes.match(raw[1:]):
            return None
        return [], match.group(1)

    def _secure(self, environ: dict) -> bool:
        # HttpRequest.scheme: the TLS proxy's header when it is there, else the server's.
        if self._proxy_header is not None:
            value = environ.get(self._proxy_header)
            if value is not None:
                return value.split(",", 1)[0].strip() == self._proxy_value
        return environ.get("wsgi.url_scheme") == "https"

    def _edge_ok(self, environ: dict) -> bool:
        """No middleware would answer instead of the view: https (or no SSL redirect) and a
        Host Django accepts."""
        if settings.SECURE_SSL_REDIRECT and not self._secure(environ):
            return False
        if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
            host = environ["HTTP_X_FORWARDED_HOST"]
        elif "HTTP_HOST" in environ:
            host = environ["HTTP_HOST"]
        else:
            return False  # rare (HTTP/1.0 without Host): Django rebuilds it
        ok = self._hosts.get(host)
        if ok is None:
            allowed = settings.ALLOWED_HOSTS
            if settings.DEBUG and not allowed:
                allowed = [".localhost", "127.0.0.1", "[::1]"]
            domain, _ = split_domain_port(host)
            ok = bool(domain and validate_host(domain, allowed))
            if len(self._hosts) < _HOSTS_MEMO_SIZE:
                self._hosts[host] = ok
        return ok

    def _redirect(
        self, environ: dict, start_response: Callable, segments: list[str], username: str
    ) -> Iterable[bytes]:
        secure = self._secure(environ)
        try:
            # The hot path first: a cached name and a buffered click are one Redis call and
            # no database, so Django's request signals have nothing to do for it (their
            # receivers close old database connections, reset the DEBUG query log, close the
            # caches, reset the urlconf) and are not sent (~60 µs of the lane's ~130).
            try:
                dest = views.answer(environ, segments, username, secure=secure, redis_only=True)
            except NeedsDatabase:
                # Nothing was recorded. As Django's handler does: request_started before (an
                # old or broken connection is closed first), request_finished after.
                signals.request_started.send(sender=FastLane, environ=environ)
                try:
                    dest = views.answer(environ, segments, username, secure=secure)
                finally:
                    signals.request_finished.send(sender=FastLane)
        except Exception as exc:
            # As Django would: logged (django.request), got_request_exception, its 500 page.
            response = response_for_exception(WSGIRequest(environ), exc)
            return self._django_response(response, start_response)
        headers = [("Location", dest.location), *views.HEADERS, *self._extra]
        if secure and self._hsts:
            headers.append(("Strict-Transport-Security", self._hsts))
        if dest.cookies and not views.keep_existing_cookie(self._existing_cookie(environ)):
            expires = http_date(time.time() + dest.cookies[0].max_age)
            headers += [("Set-Cookie", _set_cookie(c, expires)) for c in dest.cookies]
        headers.append(("Content-Length", "0"))
        start_response("302 Found", headers)
        return [b""]

    @staticmethod
    def _existing_cookie(environ: dict) -> str | None:
        raw = environ.get("HTTP_COOKIE")
        if not raw or links.COOKIE_NAME not in raw:
            return None
        # As request.COOKIES reads it (WSGI's latin-1 string back to UTF-8).
        text = raw.encode("iso-8859-1").decode(errors="replace")
        return parse_cookie(text).get(links.COOKIE_NAME)

    @staticmethod
    def _django_response(response: Any, start_response: Callable) -> Iterable[bytes]:
        status = f"{response.status_code} {response.reason_phrase}"
        cookies = [("Set-Cookie", c.output(header="").strip()) for c in response.cookies.values()]
        start_response(status, [*response.items(), *cookies])
        return response


def _set_cookie(c: links.Cookie, expires: str) -> str:
    """The Set-Cookie value HttpResponse.set_cookie writes (SimpleCookie sorts the attributes
    by name); the values are token characters (a public id, "<id>.<time>"), never quoted."""
    parts = [f"{c.name}={c.value}"]
    if c.domain:
        parts.append(f"Domain={c.domain}")
    parts.append(f"expires={expires}")
    if c.httponly:
        parts.append("HttpOnly")
    parts += [f"Max-Age={c.max_age}", f"Path={c.path}"]
    if c.samesite:
        parts.append(f"SameSite={c.samesite}")
    if c.secure:
        parts.append("Secure")
    return "; ".join(parts)
