"""Request edges shared by every app: health probes before host checks and TLS redirects, and
one JSON error shape for every error under the machine-facing prefixes."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse

# Callers of these prefixes are programs (billing systems, the marketing site, Stripe, PayPal):
# they parse JSON, so an HTML error page is an error they cannot read. Everything else (the
# dashboard, admin, the redirect) keeps Django's HTML pages.
JSON_PREFIXES = ("/api/", "/webhooks/")

# C0 control characters and DEL. No identifier, e-mail or URL the API takes contains one, and
# PostgreSQL cannot even compare a text value holding NUL (it raises, which was a 500).
_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")

# One stable code per status, for errors raised outside our views (the resolver's 404,
# require_POST's 405, Django's 400 for a bad Host or an oversize form, a crash's 500).
_CODES = {
    400: ("bad_request", "The request is malformed."),
    401: ("not_authenticated", "Authentication is required."),
    403: ("permission_denied", "You do not have permission to do this."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    406: ("not_acceptable", "Not acceptable."),
    413: ("too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Unsupported media type."),
    429: ("throttled", "Too many requests."),
}


def json_error(code: str, message: str, status: int, fields: dict | None = None) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "fields": fields or {}}}, status=status
    )


def wants_json(request: HttpRequest) -> bool:
    return request.path_info.startswith(JSON_PREFIXES)


def _max_body() -> int | None:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class HealthProbeMiddleware:
    """First in MIDDLEWARE: `/healthz/live` and `/healthz/ready` asked the way a load balancer
    or Docker asks — plain http while the HTTPS redirect is on, or the container's IP as Host —
    are answered here, before host validation and that redirect: a 301 to https or a 400
    DisallowedHost would make the probe say nothing about the database and the broker. The
    probes build no URL from the Host header and write nothing, so skipping those checks for
    them is safe. Any other probe (an allowed Host, over https or with no redirect due) goes
    down the whole middleware stack to the same views in the URLconf: `/healthz/live` is the
    benchmarks' honest "bare Django view" (issue 13), full stack included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from config import health

        if request.method in ("GET", "HEAD") and self._would_be_refused(request):
            if request.path_info == "/healthz/live":
                return health.live(request)
            if request.path_info == "/healthz/ready":
                return health.ready(request)
        return self.get_response(request)

    @staticmethod
    def _would_be_refused(request: HttpRequest) -> bool:
        if settings.SECURE_SSL_REDIRECT and not request.is_secure():
            return True
        try:
            request.get_host()
        except DisallowedHost:
            return True
        return False


class JsonErrorMiddleware:
    """Under JSON_PREFIXES, every error is `{"error": {"code", "message", "fields"}}`.

    Refused up front (nothing reaches a view, so nothing is written): control characters in
    the path or query (400), a body over DATA_UPLOAD_MAX_MEMORY_SIZE by its Content-Length
    (413; DRF reads the stream itself and would otherwise accept any size), an unreadable
    Content-Length (400). Afterwards, an error response that is not JSON already — the
    resolver's 404, a 405, Django's 400, a 500 page — is replaced by the JSON shape with the
    same status; a 500's message is generic (the traceback goes to the log, never the body).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not wants_json(request):
            return self.get_response(request)
        refused = self._refuse(request)
        if refused is not None:
            return refused
        response = self.get_response(request)
        if response.status_code < 400 or _is_json(response):
            return response
        return _as_json(response)

    @staticmethod
    def _refuse(request: HttpRequest) -> JsonResponse | None:
        raw_path = request.META.get("PATH_INFO", "").encode("latin-1", "replace")
        query = request.META.get("QUERY_STRING", "")
        if _CONTROL.search(raw_path) or _CONTROL.search(unquote_to_bytes(query)):
            return json_error(
                "invalid_characters",
                "The path or query contains control characters.",
                400,
            )
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            size = int(length)
        except ValueError:
            return json_error("bad_request", "Content-Length is not a number.", 400)
        if size < 0:
            return json_error("bad_request", "Content-Length is not a number.", 400)
        limit = _max_body()
        if limit is not None and size > limit:
            return json_error("too_large", f"The request body is larger than {limit} bytes.", 413)
        return None


def _is_json(response: HttpResponse) -> bool:
    content_type = response.get("Content-Type", "")
    return content_type.startswith("application/json") or content_type.startswith(
        "application/problem+json"
    )


def _as_json(response: HttpResponse) -> JsonResponse:
    status = response.status_code
    if status >= 500:
        code, message = "server_error", "Internal error; it has been logged."
    else:
        code, message = _CODES.get(status, ("error", "The request was refused."))
    replaced = json_error(code, message, status)
    # Keep what tells the client how to proceed (Allow on a 405, WWW-Authenticate on a 401,
    # Retry-After on a 429/503).
    for header in ("Allow", "WWW-Authenticate", "Retry-After"):
        if header in response:
            replaced[header] = response[header]
    return replaced
