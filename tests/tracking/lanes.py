"""The redirect tests run through both doors: Django's test Client (the views behind the
middleware, which the fast lane hands anything unusual to) and `LaneClient`, which calls
config.wsgi's application as a WSGI server does, so the fast lane answers.

Import `both_ways` from here into a test module (it is the `client` fixture) to run its tests both ways."""

from __future__ import annotations

import io
from http.cookies import SimpleCookie
from urllib.parse import unquote_to_bytes, urlsplit

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections

from tracking.fastlane import FastLane


class LaneResponse:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes, via_django):
        self.status_code = int(status.split(" ", 1)[0])
        self.header_list = headers
        self.headers = {k.lower(): v for k, v in headers}
        self.content = body
        self.via_django = via_django  # True: the fast lane handed the request to Django
        self.cookies: SimpleCookie = SimpleCookie()
        for name, value in headers:
            if name.lower() == "set-cookie":
                self.cookies.load(value)

    @property
    def streaming_content(self) -> list[bytes]:
        return [self.content]

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]

    def __contains__(self, name: str) -> bool:
        return name.lower() in self.headers

    def get(self, name: str, default=None):
        return self.headers.get(name.lower(), default)


class LaneClient:
    """Just enough of django.test.Client for the redirect tests: get(url, **META), a cookie
    jar (`client.cookies["referral"] = …`). Every request carries a Host header, as every
    browser's does (the lane hands a request without one to Django)."""

    def __init__(self, *, django_only: bool = False) -> None:
        self.cookies: SimpleCookie = SimpleCookie()
        self._django = WSGIHandler()
        self._via_django = False

        def django_app(environ, start_response):
            self._via_django = True
            return self._django(environ, start_response)

        # django_only: Django's application alone, as before the lane (for comparisons)
        self.app = django_app if django_only else FastLane(django_app)
        self.django_only = django_only

    def request(self, method: str, url: str, **extra) -> LaneResponse:
        parts = urlsplit(url)
        # A WSGI server puts the percent-decoded path's bytes in PATH_INFO as latin-1.
        path = unquote_to_bytes(parts.path).decode("iso-8859-1")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": parts.query,
            "SCRIPT_NAME": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "testserver",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(
                f"{m.key}={m.coded_value}" for m in self.cookies.values()
            )
        environ.update(extra)
        captured = {}

        def start_response(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        self._via_django = False
        # As django.test.Client does: the test's transaction keeps its connection.
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            result = self.app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)
        return LaneResponse(captured["status"], captured["headers"], body, self._via_django)

    def get(self, url: str, **extra) -> LaneResponse:
        response = self.request("GET", url, **extra)
        if url.startswith("/r/") and not self.django_only:
            assert not response.via_django, "the fast lane handed a redirect to Django"
        return response

    def head(self, url: str, **extra) -> LaneResponse:
        return self.request("HEAD", url, **extra)


@pytest.fixture(name="client", params=["django", "fast lane"])
def both_ways(request, client):
    """Django's test Client, then the fast lane (config.wsgi's application)."""
    if request.param == "django":
        return client
    return LaneClient()
