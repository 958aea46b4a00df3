"""The API as each staff role meets it in a browser session: reads by permission, no writes.

Walks every route under /api/v1/ from the URL resolver, so a route added later is checked
without anyone listing it here. Roles are the groups `sync_roles` creates (post-migrate).
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from affiliates.models import ApiKey
from affiliates.roles import PROGRAM_MANAGER, SUPPORT
from config.api import PUBLIC_READ_ROUTES
from tests.factories import AffiliateFactory, CommissionEntryFactory, UserFactory

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")

# A body each known write route accepts from an API key (checked below), so a refusal to a
# session is a refusal of a real write, not of a bad request. A route not listed gets {}.
BODIES = {
    "api-payments": {
        "payment_id": "pay_roles_1",
        "customer_id": "cus_roles_1",
        "amount": 100000,  # $1,000.00, the payment Support created on main
        "currency": "USD",
        "paid_at": "2026-11-01T12:00:00Z",
    },
    "api-refunds": {
        "refund_id": "re_roles_1",
        "payment_id": "pay_roles_1",
        "amount": 100,
        "refunded_at": "2026-11-01T13:00:00Z",
    },
    "api-clicks": {"username": "alice", "link": "https://example.com/pricing/alice"},
    "api-signups": {"customer_id": "cus_roles_1", "email": "new@customer.test"},
    "api-links": {"affiliate": "alice", "url": "https://example.com/pricing/"},
}


def _api_routes(patterns=None, prefix="") -> list[tuple[str, URLPattern]]:
    """(route, pattern) for every URL pattern under api/v1/, includes walked."""
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += _api_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and route.startswith("api/v1/"):
            found.append((route, entry))
    return found


def _url(route: str, public_id: str) -> str:
    # The only converter API routes use is an affiliate's public id.
    return "/" + route.replace("<str:public_id>", public_id)


def _methods(pattern: URLPattern) -> set[str]:
    cls = pattern.callback.cls
    return {m for m in cls.http_method_names if m not in ("options", "head") and hasattr(cls, m)}


def _row_counts() -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in apps.get_models()}


def _session(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _staff(email: str, group: str | None = None, **extra):
    user = UserFactory(email=email, is_staff=True, **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def alice():
    return AffiliateFactory(username="alice")


@pytest.fixture
def people():
    return {
        "support": _staff("support@example.com", SUPPORT),
        "manager": _staff("manager@example.com", PROGRAM_MANAGER),
        "superuser": _staff("root@example.com", is_superuser=True),
        "staff without a role": _staff("nobody@example.com"),
    }


def test_the_walk_finds_every_known_api_route():
    names = {p.name for _, p in _api_routes()}

    assert {
        "api-affiliates",
        "api-affiliate",
        "api-payments",
        "api-refunds",
        "api-commissions",
        "api-payouts",
        "api-clicks",
        "api-signups",
        "api-links",
    } <= names


@pytest.mark.parametrize("role", ["support", "manager", "superuser", "staff without a role"])
def test_no_staff_session_writes_through_any_api_route(role, people, alice):
    client = _session(people[role])
    before = _row_counts()
    answers = []

    for route, pattern in _api_routes():
        for method in sorted(_methods(pattern) & set(WRITE_METHODS)):
            url = _url(route, alice.public_id)
            body = BODIES.get(pattern.name, {})
            answers.append(
                (pattern.name, method, getattr(client, method)(url, body, format="json"))
            )

    assert answers, "the walk found no write route"
    for name, method, response in answers:
        assert response.status_code == 403, (name, method, response.status_code)
        error = response.json()["error"]
        assert error["code"] == "permission_denied", (name, method)
        assert "API key" in error["message"]
    assert _row_counts() == before  # nothing written, not even a click


def test_the_same_writes_succeed_with_an_api_key(api, alice):
    # The control for the test above: its bodies are writes an API key may make.
    payment = api.post("/api/v1/payments", BODIES["api-payments"], format="json")
    signup = api.post("/api/v1/signups", BODIES["api-signups"], format="json")
    click = api.post("/api/v1/clicks", BODIES["api-clicks"], format="json")

    assert (payment.status_code, signup.status_code, click.status_code) == (201, 201, 201)


def _reads(client, alice) -> dict[str, int]:
    answers = {}
    for route, pattern in _api_routes():
        if "get" in _methods(pattern) and pattern.name not in PUBLIC_READ_ROUTES:
            url = _url(route, alice.public_id)
            query = {"affiliate": alice.public_id} if pattern.name == "api-commissions" else {}
            answers[pattern.name] = client.get(url, query).status_code
    return answers


def test_support_reads_affiliates_commissions_and_payouts(people, alice):
    CommissionEntryFactory(affiliate=alice)

    answers = _reads(_session(people["support"]), alice)

    assert answers == {
        "api-affiliates": 200,
        "api-affiliate": 200,
        "api-employees": 200,
        "api-commissions": 200,
        "api-payouts": 200,
    }


def test_a_staff_user_without_a_role_reads_nothing(people, alice):
    answers = _reads(_session(people["staff without a role"]), alice)

    assert set(answers.values()) == {403}


def test_reads_follow_the_roles_permissions(people, alice):
    # Take payouts away from Support: the payouts route closes, the others stay open.
    support = Group.objects.get(name=SUPPORT)
    support.permissions.remove(Permission.objects.get(codename="view_payout"))
    # The ledger is part of an affiliate's detail (its balances).
    support.permissions.remove(Permission.objects.get(codename="view_commissionentry"))

    answers = _reads(_session(people["support"]), alice)

    assert answers == {
        "api-affiliates": 200,
        "api-affiliate": 403,
        "api-employees": 200,
        "api-commissions": 403,
        "api-payouts": 403,
    }


def test_a_session_refusal_is_the_json_error_shape(people, alice):
    response = _session(people["support"]).post(
        "/api/v1/payments", BODIES["api-payments"], format="json"
    )

    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()["error"]) == {"code", "message", "fields"}


@override_settings(ROOT_URLCONF="tests.config.urls_with_new_api_route")
def test_a_new_api_route_is_closed_to_sessions_until_someone_grants_it(people, api):
    # A route nobody gave a read permission to: only API keys may call it, even to read.
    for role in ("support", "manager", "superuser"):
        assert _session(people[role]).get("/api/v1/newthing").status_code == 403
    assert api.get("/api/v1/newthing").status_code == 200


def test_an_api_key_never_reads_as_a_person_and_a_session_never_writes_as_a_key(people):
    # Bearer beats a session cookie: the request is the key's, and a revoked key is a 401
    # even for a logged-in superuser.
    client = _session(people["superuser"])
    client.credentials(HTTP_AUTHORIZATION="Bearer amb_not-a-key")

    response = client.get("/api/v1/affiliates")

    assert response.status_code == 401
    assert ApiKey.objects.count() == 0
