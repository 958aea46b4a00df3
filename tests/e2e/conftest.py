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


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def program(transactional_db, settings):
    """seed_demo's program ending now (tests.e2e.portal_data), for the portal's browser tests."""
    from tests.e2e.portal_data import FAST_HASHERS, seed_program

    settings.PASSWORD_HASHERS = FAST_HASHERS
    return seed_program()


@pytest.fixture
def portal_context(browser, live_server):
    """A new browser context per call, `viewport` as given, allowed to use the clipboard on
    the live server's origin; all closed after the test."""
    contexts = []

    def make(width: int = 1366, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
