"""Shared fixtures. App-specific fixtures (local provider servers…) live in tests/<app>/conftest.py."""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from affiliates.roles import PROGRAM_MANAGER, SUPPORT
from affiliates.selectors import clear_resolver_memo
from affiliates.services import create_api_key


@pytest.fixture(autouse=True)
def _clean_cache():
    # The resolver memo (and caches) must not leak between tests; Redis in CI is shared.
    cache.clear()
    clear_resolver_memo()
    yield
    cache.clear()
    clear_resolver_memo()


@pytest.fixture(autouse=True)
def _mail_worker(monkeypatch):
    """The test process is the e-mail worker: a queued `ambassador.send_email` runs here,
    through Celery's own apply() (retries included), when it is enqueued after commit —
    so `mailoutbox` holds what a worker would have sent. Other tasks are not run."""
    from config import mail

    def run_here(args=None, kwargs=None, **options):
        return mail.send_email_task.apply(args=args, kwargs=kwargs)

    monkeypatch.setattr(mail.send_email_task, "apply_async", run_here)


@pytest.fixture(autouse=True)
def _installed_default_plan(request):
    # Every install has the default plan (data migration commissions.0004_default_plan).
    # Tests on the migrated database see that row; a transactional test's flush deletes it
    # for the transactional tests after it, so they get it back here, as an install has it.
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or (
        marker is not None and (marker.kwargs.get("transaction") or (marker.args[:1] == (True,)))
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        from tests.factories import ensure_installed_default_plan

        ensure_installed_default_plan()


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def staff_client(db) -> Callable[..., Client]:
    """`staff_client(PROGRAM_MANAGER)`: a new client logged in as a staff user of that group,
    as the migrations create it (sync_roles). A new client each call, so a test may use two
    roles side by side."""
    from tests.factories import UserFactory

    def login(group_name: str, email: str | None = None) -> Client:
        address = email or f"{group_name.split()[-1].lower()}@example.com"
        user = UserFactory(email=address, is_staff=True)
        user.groups.add(Group.objects.get(name=group_name))
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def manager_client(staff_client) -> Client:
    return staff_client(PROGRAM_MANAGER, "manager@example.com")


@pytest.fixture
def support_client(staff_client) -> Client:
    return staff_client(SUPPORT, "support@example.com")


@pytest.fixture
def api_key(db) -> str:
    _, raw = create_api_key(name="tests", now=timezone.now())
    return raw


@pytest.fixture
def api(api_key) -> APIClient:
    """An API client authenticated with a Bearer key, as the product's backend would be."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()


def pytest_collection_modifyitems(config, items):
    # PostgreSQL-only tests (row locks, triggers, concurrency) skip on SQLite; CI runs the
    # suite on PostgreSQL too, where .ci/run fails if PostgreSQL is unreachable.
    if settings.IS_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
