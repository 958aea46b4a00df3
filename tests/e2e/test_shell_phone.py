"""The page shell on a 390 px phone in Chromium: nothing scrolls sideways (the wide table
scrolls inside its wrapper, long URLs and codes wrap), "Log out" stays on screen, the menu
opens, the copy button copies, and the public page fits too."""

import pytest

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.urls("tests.e2e.urls_shell"),
]

PHONE = {"width": 390, "height": 844}


def _log_in(page, live_server):
    from tests.factories import AffiliateFactory, UserFactory, ensure_installed_default_plan

    ensure_installed_default_plan()
    AffiliateFactory(user=UserFactory(email="alice@example.org", is_staff=True), username="alice")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "alice@example.org")
    page.fill("input[name=password]", "pass-1234-word")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/", timeout=15000)


def _inside_viewport(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, permissions=["clipboard-read", "clipboard-write"])
    yield context.new_page()
    context.close()


def test_at_390_px_a_wide_table_and_a_long_url_never_widen_the_page(live_server, phone):
    _log_in(phone, live_server)

    phone.goto(f"{live_server.url}/shell-test/wide/")

    assert phone.evaluate("document.documentElement.scrollWidth") == 390
    wrap = phone.evaluate(
        "(() => { const w = document.getElementById('wide-wrap');"
        " return [w.scrollWidth, w.clientWidth, getComputedStyle(w).overflowX,"
        " getComputedStyle(w.querySelector('thead th')).position]; })()"
    )
    assert wrap[0] > wrap[1] and wrap[2] == "auto"  # the table scrolls inside its wrapper
    assert wrap[3] == "sticky"
    assert _inside_viewport(phone, "#long-url") and _inside_viewport(phone, "#long-code")
    # Log out is on screen without opening anything; the navigation waits behind Menu
    assert phone.locator("#logout").is_visible() and _inside_viewport(phone, "#logout")
    assert not phone.locator("#site-nav").is_visible()
    phone.click("button.menu-toggle")
    assert phone.locator("#site-nav a", has_text="Referrals").is_visible()
    assert _inside_viewport(phone, "#site-nav")
    assert phone.locator("#site-nav a", has_text="Program").is_visible()  # staff
    assert phone.evaluate("document.documentElement.scrollWidth") == 390


def test_the_copy_button_copies_its_text_and_says_copied(live_server, phone):
    _log_in(phone, live_server)
    phone.goto(f"{live_server.url}/shell-test/wide/")

    phone.click("#copy-code")

    phone.wait_for_function("document.getElementById('copy-code').textContent === 'Copied'")
    assert phone.evaluate("navigator.clipboard.readText()") == "ALICE-" + "X" * 80
    phone.wait_for_function(
        "document.getElementById('copy-code').textContent === 'Copy'", timeout=5000
    )


def test_the_public_page_and_the_login_fit_a_phone(live_server, phone):
    from tests.factories import default_plan_with_tiers

    default_plan_with_tiers()
    phone.goto(f"{live_server.url}/")
    assert phone.evaluate("document.documentElement.scrollWidth") == 390
    assert phone.locator("#apply").is_visible() and _inside_viewport(phone, "#apply")

    phone.goto(f"{live_server.url}/accounts/login/")
    assert phone.evaluate("document.documentElement.scrollWidth") == 390
