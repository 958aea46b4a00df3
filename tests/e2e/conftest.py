"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

Playwright's own browser download needs the internet, so we launch the system Chromium.
The tests are skipped when /usr/bin/chromium is absent (CI installs it).
"""

import os
import shutil

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls made by fixtures are
# still synchronous and safe, so Django's async-safety guard is relaxed for these tests only.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
        # While Playwright runs, Django keeps its connections in a store of their own (an
        # event loop is set in this thread); closed here, before that store is left, or the
        # session's end finds a PostgreSQL session still open and cannot drop the test
        # database.
        from django.db import connections

        connections.close_all()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def portal(django_db_setup, django_db_blocker):
    """seed_demo's program ending now (tests.e2e.portal_data), seeded once per module and
    committed, served by its own live server (pytest-django's `live_server` is
    transactional: it would flush and re-seed for every test, ~10-40 s each on a shared
    machine). The seed commits so that the server's own connection sees it on PostgreSQL;
    on SQLite the server shares the test's in-memory connection. The module's tests are
    ordinary `django_db` tests (ordered before the transactional ones, on the migrated
    database); what the browser changes commits on PostgreSQL and stays for the module's
    later tests. At the module's end the database is put back as the migrations left it:
    flushed and reloaded from a copy taken before the seed (TransactionTestCase's
    serialized rollback), so the tests after it find no demo rows and still find the
    groups and the default plan."""
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import override_settings
    from pytest_django.live_server_helper import LiveServer

    from tests.e2e.portal_data import FAST_HASHERS, Portal, seed_program

    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        migrated = connection.creation.serialize_db_to_string()
        server = None
        try:
            program = seed_program()
            server = LiveServer("localhost:0")
            server._live_server_modified_settings.enable()
            yield Portal(url=server.url, program=program, db_access=django_db_blocker.unblock)
        finally:
            if server is not None:
                server._live_server_modified_settings.disable()
                server.stop()
            # Sequences are not reset: the reloaded rows keep their ids and new rows take
            # ids above the seed's, as after any transactional test's flush.
            call_command(
                "flush",
                verbosity=0,
                interactive=False,
                reset_sequences=False,
                inhibit_post_migrate=True,
            )
            connection.creation.deserialize_db_from_string(migrated)


@pytest.fixture
def portal_context(browser, portal):
    """A new browser context per call (viewport as given) allowed to use the clipboard on
    the portal's origin; all closed after the test."""
    contexts = []

    def make(width: int = 1366, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=portal.url)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
