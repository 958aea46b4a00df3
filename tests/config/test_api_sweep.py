"""Every API route and webhook, taken from the URL resolver (a new route is swept without
touching this file), against a generated corpus of bad requests: random and deep JSON, wrong
types, huge strings, NUL and control characters, bad Content-Type, oversize bodies, bad
auth, wrong methods. Each answer must be a JSON error with a 4xx — never a 5xx, never HTML —
and no row of any model may be written."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.test import APIClient

PREFIXES = ("api/", "webhooks/")
STRIPE_SECRET = "whsec_sweep"
BODY_METHODS = ("POST", "PUT", "PATCH")
# OPTIONS and HEAD are answered 200 by design (DRF metadata, GET without a body).
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass
class Route:
    route: str  # as the resolver spells it, e.g. "api/v1/affiliates/<str:public_id>"
    methods: frozenset[str]  # methods the view answers
    fields: dict[str, serializers.Field] = field(default_factory=dict)  # its Input fields
    is_webhook: bool = False

    def path(self, param: str = "zz-unknown-id") -> str:
        path = re.sub(r"<(?:\w+:)?\w+>", quote(param, safe=""), self.route)
        path = re.sub(r"\(\?P<\w+>[^)]*\)", quote(param, safe=""), path)
        return "/" + path.lstrip("^").rstrip("$").replace("\\Z", "")

    def __repr__(self) -> str:
        return self.route


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _routes() -> list[Route]:
    routes = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.lstrip("^").startswith(PREFIXES):
            continue
        cls = getattr(pattern.callback, "cls", None) or getattr(
            pattern.callback, "view_class", None
        )
        if cls is not None:
            methods = frozenset(m.upper() for m in cls.http_method_names if hasattr(cls, m))
            fields = {}
            if hasattr(cls, "InputSerializer"):
                fields = dict(cls.InputSerializer().fields)
        else:  # function views: the webhooks are POST only (require_POST)
            methods, fields = frozenset({"POST"}), {}
        routes.append(
            Route(
                route=route,
                methods=methods,
                fields=fields,
                is_webhook=route.startswith("webhooks/"),
            )
        )
    return routes


ROUTES = _routes()


def test_the_sweep_sees_every_api_route_and_webhook():
    # A guard on the enumeration itself (not a list to maintain: a floor).
    seen = {r.route for r in ROUTES}

    assert {"api/v1/signups", "api/v1/payments", "webhooks/stripe/", "webhooks/paypal/"} <= seen
    assert any("<" in r for r in seen)  # routes with parameters are in


# --- the corpus ---------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
control_chars = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=31) | st.just("\x7f"), min_size=1
)
# Always holds a NUL: no field may accept it (PostgreSQL cannot store it).
nul_strings = st.tuples(st.text(max_size=20), control_chars, st.text(max_size=20)).map(
    lambda t: t[0] + "\x00" + t[1] + t[2]
)
huge_strings = st.tuples(
    st.sampled_from(["x", "é", "a@b.", "9", "/", "%"]), st.integers(2_001, 20_000)
).map(lambda t: t[0] * t[1])


def _deep(depth: int, opener: str) -> str:
    closer = {"[": "]", "{": "}"}[opener]
    if opener == "[":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + closer * depth


deep_json = st.tuples(st.integers(1_500, 50_000), st.sampled_from("[{")).map(lambda t: _deep(*t))


def _wrong_type(f: serializers.Field):
    """A value of a type the field refuses, whatever its options."""
    if isinstance(f, serializers.ListField | serializers.MultipleChoiceField):
        return st.dictionaries(st.text(max_size=5), json_scalars, min_size=1, max_size=3)
    if isinstance(f, serializers.DictField | serializers.Serializer):
        return st.lists(json_scalars, min_size=1, max_size=3)
    if isinstance(f, serializers.BooleanField):
        return st.lists(json_scalars, min_size=1, max_size=3) | st.text(min_size=6).map(
            lambda s: s + "\x00"
        )
    return st.dictionaries(st.text(max_size=5), json_scalars, max_size=3) | st.lists(
        json_values, min_size=1, max_size=3
    )


@dataclass
class Attempt:
    kind: str
    method: str
    path_param: str | None = None
    query: str = ""
    body: bytes | None = None
    content_type: str = "application/json"
    auth: str | None = "key"  # "key": the test's API key; None: none; else the header
    sign: bool = True  # webhooks: a valid signature over the body


def _with_every_field(route: Route, values: st.SearchStrategy) -> st.SearchStrategy:
    """An object setting every input field (plus stray keys) to a value from `values`."""
    names = list(route.fields) or ["id", "type", "customer_id"]
    return st.fixed_dictionaries({n: values for n in names}, optional={"zz": json_values})


def attempts(route: Route) -> st.SearchStrategy[Attempt]:
    body_methods = sorted(route.methods & set(BODY_METHODS)) or ["POST"]
    method = st.sampled_from(body_methods)
    not_allowed = sorted(set(ALL_METHODS) - route.methods)

    def body(kind: str, values: st.SearchStrategy) -> st.SearchStrategy[Attempt]:
        return st.builds(lambda m, v: Attempt(kind, m, body=json.dumps(v).encode()), method, values)

    wrong_types = st.fixed_dictionaries({n: _wrong_type(f) for n, f in route.fields.items()})
    options = [
        # JSON that is not an object, or nested deeper than any parser recursion limit.
        body("not_an_object", json_values.filter(lambda v: not isinstance(v, dict))),
        st.builds(lambda m, d: Attempt("deep", m, body=d.encode()), method, deep_json),
        # Objects with every field of the wrong type / holding NUL and controls / huge.
        body("wrong_types", wrong_types if route.fields else st.just([])),
        body("nul", _with_every_field(route, nul_strings)),
        body("huge", _with_every_field(route, huge_strings)),
        # Bytes the declared Content-Type cannot carry, or a type the API does not read.
        st.builds(
            lambda m, b, ct: Attempt("content_type", m, body=b"\xff" + b, content_type=ct),
            method,
            st.binary(max_size=64),
            st.sampled_from(
                [
                    "application/json",
                    "text/plain",
                    "application/xml",
                    "application/octet-stream",
                    "multipart/form-data",
                    "image/png",
                ]
            ),
        ),
        # Over DATA_UPLOAD_MAX_MEMORY_SIZE.
        st.builds(
            lambda m, extra: Attempt(
                "oversize",
                m,
                body=json.dumps(
                    {"pad": "x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + extra)}
                ).encode(),
            ),
            method,
            st.integers(1, 1000),
        ),
        # NUL and control characters in the query and in path parameters, any method.
        st.builds(
            lambda m, k, v: Attempt("query", m, query=f"{quote(k)}={quote(v)}"),
            st.sampled_from(ALL_METHODS),
            st.sampled_from(["affiliate", "q", "status", "id", "x"]),
            nul_strings | control_chars,
        ),
    ]
    if "<" in route.route:
        options.append(
            st.builds(
                lambda m, p: Attempt("path", m, path_param=p),
                st.sampled_from(ALL_METHODS),
                nul_strings | control_chars,
            )
        )
    if not_allowed:
        options.append(
            st.builds(
                lambda m, v: Attempt("method", m, body=json.dumps(v).encode()),
                st.sampled_from(not_allowed),
                json_values,
            )
        )
    if route.is_webhook:
        # A well-formed event without a valid signature.
        options.append(
            st.builds(
                lambda v: Attempt("unsigned", "POST", body=json.dumps(v).encode(), sign=False),
                st.fixed_dictionaries(
                    {
                        "id": st.text(min_size=1, max_size=30),
                        "type": st.text(min_size=1, max_size=30),
                        "event_type": st.text(min_size=1, max_size=30),
                        "created": st.integers(0, 2**31),
                    }
                ),
            )
        )
    else:
        # Bad auth: unknown, malformed and empty Bearer credentials.
        options.append(
            st.builds(
                lambda m, v, h: Attempt("bad_auth", m, body=json.dumps(v).encode(), auth=h),
                st.sampled_from(sorted(route.methods & set(ALL_METHODS)) or ["GET"]),
                _with_every_field(route, st.text(max_size=20)),
                st.one_of(
                    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1).map(
                        lambda k: f"Bearer amb_{k}"
                    ),
                    st.just("Bearer"),
                    st.just("Bearer a b"),
                ),
            )
        )
    return st.one_of(options)


# --- the sweep --------------------------------------------------------------------------


def _row_counts() -> dict[str, int]:
    return {
        m._meta.label: m._default_manager.count()
        for m in apps.get_models()
        if m._meta.managed and not m._meta.proxy
    }


def _stripe_signature(body: bytes) -> str:
    t = int(time.time())
    mac = hmac.new(STRIPE_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


@pytest.fixture
def webhooks_configured(settings):
    from devtools import peers

    server = peers.start_in_thread(webhook_id="WH-SWEEP")
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_SECRET
    # The Connect endpoint has its own secret in production; one value here signs for both.
    settings.STRIPE_CONNECT_WEBHOOK_SECRET = STRIPE_SECRET
    # 256 kB instead of Django's 2.5 MB keeps oversize examples cheap; huge fields stay under.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
    settings.PAYPAL_CLIENT_ID = "fake-client"
    settings.PAYPAL_CLIENT_SECRET = "fake-secret"
    settings.PAYPAL_API_BASE = server.base_url
    settings.PAYPAL_WEBHOOK_ID = "WH-SWEEP"
    yield server
    server.shutdown()
    server.server_close()


def _send(client: APIClient, route: Route, attempt: Attempt, api_key: str, peer):
    path = route.path(attempt.path_param) if attempt.path_param else route.path()
    if attempt.query:
        path += "?" + attempt.query
    headers: dict[str, str] = {}
    if attempt.auth == "key":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {api_key}"
    elif attempt.auth:
        headers["HTTP_AUTHORIZATION"] = attempt.auth
    body = attempt.body or b""
    if route.is_webhook and attempt.sign:
        # A valid signature over the bad body: the body itself must be refused.
        headers["HTTP_STRIPE_SIGNATURE"] = _stripe_signature(body)
        tid = peer.state.next_id("TR")
        headers.update(
            HTTP_PAYPAL_TRANSMISSION_ID=tid,
            HTTP_PAYPAL_TRANSMISSION_TIME="2026-11-02T12:00:00Z",
            HTTP_PAYPAL_TRANSMISSION_SIG=peer.state.sign(tid, body),
            HTTP_PAYPAL_CERT_URL="https://fake.paypal.local/cert.pem",
            HTTP_PAYPAL_AUTH_ALGO="SHA256withRSA",
        )
    return client.generic(attempt.method, path, body, content_type=attempt.content_type, **headers)


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.route)
def test_every_bad_request_is_a_json_4xx_and_writes_nothing(route, api_key, webhooks_configured):
    client = APIClient()
    client.raise_request_exception = False  # a crash must show as the 500 a client gets

    @hypothesis_settings(
        max_examples=15,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(attempt=attempts(route))
    def sweep(attempt: Attempt) -> None:
        before = _row_counts()

        response = _send(client, route, attempt, api_key, webhooks_configured)

        where = f"{attempt.kind} {attempt.method} {route.route}: {response.content[:200]!r}"
        assert 400 <= response.status_code < 500, f"{response.status_code} for {where}"
        assert response["Content-Type"].startswith("application/json"), where
        error = json.loads(response.content)["error"]
        assert set(error) == {"code", "message", "fields"}, where
        assert isinstance(error["message"], str) and "Traceback" not in error["message"]
        assert _row_counts() == before, where

    sweep()
