"""Issue 11 in a real browser: Playwright driving Debian's Chromium against seed_demo's
program (tests.e2e.portal_data) on pytest-django's live server — log in and see each chart
drawn, make a link and copy it, open a referral's drill-down, download the commissions CSV
and check it against the ledger, switch to Japanese (remembered across logins), change the
username, the phone layout of every page, and screenshots of every page at 1366 and 390 px
under test-artifacts/screenshots/ (look at them)."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

DESKTOP = (1366, 900)
PHONE = (390, 844)
# Not transactional: the rows are seeded and committed once for the module (the `portal`
# fixture, which puts the migrated database back at the module's end). Each test runs in a
# transaction rolled back after it; the live server's writes commit on PostgreSQL (its own
# connection) and are rolled back with the test on SQLite (the shared in-memory connection),
# so no test may rely on the browser's changes being undone: each puts back what it changes
# for the tests after it, through the browser.
pytestmark = pytest.mark.django_db

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LINK_TARGET = "https://example.com/pricing"

# The affiliate's pages: (name, path); the drill-down's path is filled in from the data.
PORTAL_PAGES = [
    ("overview", "/dashboard/"),
    ("referrals", "/dashboard/referrals/"),
    ("drilldown", "/dashboard/referrals/{referral}/"),
    ("commissions", "/dashboard/commissions/"),
    ("payouts", "/dashboard/payouts/"),
    ("links", f"/dashboard/links/?url={LINK_TARGET}"),
    ("creatives", "/dashboard/creatives/"),
    ("settings", "/settings/"),
    ("payout-settings", "/payouts/settings/"),
]
STAFF_PAGES = [("program", "/dashboard/program/"), ("admin", "/admin/")]
PUBLIC_PAGES = [("home", "/"), ("login", "/accounts/login/")]


def _pages(program) -> list[tuple[str, str]]:
    return [(name, path.format(referral=program.referral_id)) for name, path in PORTAL_PAGES]


def _log_in(page, live_server, email: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def _affiliate_page(portal_context, live_server, program, size=DESKTOP):
    page = portal_context(*size).new_page()
    page.set_default_timeout(15000)
    _log_in(page, live_server, program.affiliate_email, program.affiliate_password)
    return page


def _html_lang(page) -> str:
    return page.evaluate("document.documentElement.lang")


def test_the_affiliate_logs_in_and_every_chart_of_the_overview_is_drawn(portal, portal_context):
    live_server, program = portal, portal.program
    page = _affiliate_page(portal_context, live_server, program)
    assert page.url == f"{live_server.url}/dashboard/"
    assert "alice" in page.inner_text("h1")

    charts = page.locator("figure.chart")
    assert charts.count() >= 4  # clicks, signups, upgrades, earnings
    for i in range(charts.count()):
        chart = charts.nth(i)
        # Drawn: some bar or line of the chart has a non-zero size on the screen (seed_demo's
        # 30 days have clicks, signups, first payments and commissions every week).
        drawn = chart.evaluate(
            "(fig) => [...fig.querySelectorAll('svg rect, svg polyline')].some(el => {"
            " const b = el.getBoundingClientRect(); return b.width > 0 && b.height > 0; })"
        )
        title = chart.locator(".chart-title").inner_text()
        assert drawn, f"chart {title!r} has no bar or line with a size"
        assert chart.locator(".chart-empty").count() == 0, title
        # Drawn inside its plot box, not over the next chart: the viewBox parses (a
        # localized "1,400" would not) and no bar or line leaves the plot.
        box, outside = chart.evaluate(
            "(fig) => { const plot = fig.querySelector('.chart-plot');"
            " const svg = plot.querySelector('svg'); const p = plot.getBoundingClientRect();"
            " const out = [...svg.querySelectorAll('rect, polyline')].filter(el => {"
            " const b = el.getBoundingClientRect(); return b.bottom > p.bottom + 2"
            " || b.top < p.top - 2 || b.right > p.right + 2; }).length;"
            " return [[svg.viewBox.baseVal.width, svg.viewBox.baseVal.height], out]; }"
        )
        assert box[0] > 0 and box[1] > 0, (
            title,
            box,
            chart.locator("svg").get_attribute("viewBox"),
        )
        assert outside == 0, (title, outside)
        legend = chart.locator(".chart-legend li")
        assert legend.count() >= 1 and legend.first.is_visible(), title
        assert chart.locator(".chart-x span").first.is_visible(), title  # dates on the axis


def test_the_link_generator_makes_a_link_for_a_page_of_the_site_and_copies_it(
    portal, portal_context
):
    live_server, program = portal, portal.program
    page = _affiliate_page(portal_context, live_server, program)
    page.goto(f"{live_server.url}/dashboard/links/")

    page.fill("#link-generator input[name=url]", LINK_TARGET)
    page.click("#link-generator form button[type=submit]")
    page.wait_for_selector("#link-output")

    path_form = page.inner_text("#link-path")
    ref_form = page.inner_text("#link-ref")
    assert "alice" in path_form and "/pricing" in path_form
    assert "ref=alice" in ref_form and "/pricing" in ref_form
    assert 'rel="sponsored' in page.inner_text("#link-html")
    qr = page.locator("#qr svg")
    assert qr.count() == 1 and qr.bounding_box()["width"] > 50

    page.click("#link-output dd:has(#link-path) button.copy")
    assert page.evaluate("navigator.clipboard.readText()") == path_form


def test_a_click_on_a_customer_opens_its_drill_down(portal, portal_context):
    live_server, program = portal, portal.program
    page = _affiliate_page(portal_context, live_server, program)
    page.goto(f"{live_server.url}/dashboard/referrals/")

    first = page.locator("table.figures tbody a[href*='/dashboard/referrals/']").first
    customer = first.inner_text().strip()
    first.click()
    page.wait_for_url(re.compile(r"/dashboard/referrals/\d+/$"))

    assert customer in page.inner_text("h1")
    assert page.locator("table.figures").count() >= 1  # payments / entries of that customer


def test_the_commissions_csv_downloaded_from_the_page_totals_the_ledger(portal, portal_context):
    live_server, program = portal, portal.program
    from commissions.models import CommissionEntry

    page = _affiliate_page(portal_context, live_server, program)
    page.goto(f"{live_server.url}/dashboard/commissions/?range=90")

    with page.expect_download() as info:
        page.click("#csv")
    download = info.value
    assert download.suggested_filename == "commissions.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))

    from_csv: Counter[str] = Counter()
    decimals: Counter[str] = Counter()
    for row in rows:
        from_csv[row["currency"]] += int(row["amount_minor"])
        decimals[row["currency"]] += Decimal(row["amount"])
    # The ledger with the same filter: alice's entries created in the last 90 days (today
    # included), summed per currency in minor units.
    from datetime import UTC, datetime, time, timedelta

    from dashboard.views.common import today

    start = datetime.combine(today() - timedelta(days=89), time.min, tzinfo=UTC)
    ledger: Counter[str] = Counter()
    with portal.db_access():
        entries = CommissionEntry.objects.for_affiliate(program.affiliate_id).filter(
            created_at__gte=start
        )
        for currency, amount in entries.values_list("currency", "amount"):
            ledger[currency] += amount
        count = entries.count()
    assert rows and len(rows) == count
    assert from_csv == ledger
    assert decimals["USD"] == Decimal(ledger["USD"]) / 100  # the decimal column agrees


def _fits_phone(page) -> tuple[int, dict | None]:
    return (
        page.evaluate("document.documentElement.scrollWidth"),
        page.locator("#logout").bounding_box(),
    )


def test_at_390_px_no_page_scrolls_sideways_and_log_out_stays_on_screen(portal, portal_context):
    live_server, program = portal, portal.program
    width = PHONE[0]
    page = _affiliate_page(portal_context, live_server, program, size=PHONE)
    manager = portal_context(*PHONE).new_page()
    manager.set_default_timeout(15000)
    _log_in(manager, live_server, program.manager_email, program.manager_password)
    visits = [(page, name, path) for name, path in _pages(program)]
    visits.append((manager, "program", "/dashboard/program/"))

    wrong = []
    for tab, name, path in visits:
        tab.goto(f"{live_server.url}{path}")
        scroll_width, logout = _fits_phone(tab)
        on_screen = (
            logout is not None and logout["x"] >= 0 and logout["x"] + logout["width"] <= width
        )
        if scroll_width != width or not on_screen:
            wrong.append((name, scroll_width, logout))
    assert wrong == []


def _shoot(page, live_server, name: str, path: str, width: int, shots: list[Path]) -> None:
    page.goto(f"{live_server.url}{path}")
    target = SHOTS / f"{name}-{width}.png"
    page.screenshot(path=str(target), full_page=True)
    shots.append(target)


def test_screenshots_of_every_page_at_desktop_and_phone_width(portal, portal_context):
    live_server, program = portal, portal.program
    SHOTS.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    for size in (DESKTOP, PHONE):
        width = size[0]
        anonymous = portal_context(*size).new_page()
        for name, path in PUBLIC_PAGES:
            _shoot(anonymous, live_server, name, path, width, shots)

        page = _affiliate_page(portal_context, live_server, program, size=size)
        for name, path in _pages(program):
            _shoot(page, live_server, name, path, width, shots)
        # The same pages in Japanese, chosen with the switcher.
        page.goto(f"{live_server.url}/dashboard/")
        page.select_option("#language-select", "ja")
        page.click("#language-switcher button[type=submit]")
        page.wait_for_function("document.documentElement.lang === 'ja'")
        for name, path in _pages(program):
            _shoot(page, live_server, f"{name}-ja", path, width, shots)
        page.select_option("#language-select", "en")  # back, for the next width's login
        page.click("#language-switcher button[type=submit]")
        page.wait_for_function("document.documentElement.lang === 'en'")

        manager = portal_context(*size).new_page()
        manager.set_default_timeout(15000)
        _log_in(manager, live_server, program.manager_email, program.manager_password)
        for name, path in STAFF_PAGES:
            _shoot(manager, live_server, name, path, width, shots)

    assert len(shots) == 2 * (len(PUBLIC_PAGES) + 2 * len(PORTAL_PAGES) + len(STAFF_PAGES))
    for shot in shots:
        assert shot.exists() and shot.stat().st_size > 5000, shot


def test_the_language_switcher_shows_japanese_and_it_is_remembered_at_the_next_login(
    portal, portal_context
):
    live_server, program = portal, portal.program
    from affiliates.models import Affiliate

    page = _affiliate_page(portal_context, live_server, program)
    assert _html_lang(page) == "en"

    page.select_option("#language-select", "ja")
    page.click("#language-switcher button[type=submit]")
    page.wait_for_function("document.documentElement.lang === 'ja'")
    assert page.url == f"{live_server.url}/dashboard/"
    with portal.db_access():
        saved = Affiliate.objects.get(pk=program.affiliate_id).language
    assert saved == "ja"
    # The Japanese catalogue is still being translated (29 % at this writing): assert on
    # strings known translated — the footer's "Language" and Django's own password labels.
    assert page.inner_text("label[for=language-select]") == "言語"

    page.click("#logout")
    page.wait_for_load_state()
    page.context.clear_cookies()  # a new device: no language cookie, only the preference
    _log_in(page, live_server, program.affiliate_email, program.affiliate_password)
    assert _html_lang(page) == "ja"
    page.goto(f"{live_server.url}/settings/")
    assert _html_lang(page) == "ja"
    assert "元のパスワード" in page.inner_text("main")  # Django's "Old password"
    # Back to English through the switcher (a write from here would be rolled back with
    # this test on PostgreSQL, where the server's "ja" is committed).
    page.select_option("#language-select", "en")
    page.click("#language-switcher button[type=submit]")
    page.wait_for_function("document.documentElement.lang === 'en'")
    with portal.db_access():
        assert Affiliate.objects.get(pk=program.affiliate_id).language == "en"


# Last in the module: the new username stays (a change is limited in number and kept as an
# alias), so no test after it may expect "alice".
def test_a_username_change_shows_the_success_message_and_the_new_name(portal, portal_context):
    live_server, program = portal, portal.program
    page = _affiliate_page(portal_context, live_server, program)
    page.goto(f"{live_server.url}/settings/")

    form = page.locator("form:has(input[name=action][value=username])")
    form.locator("input[name=username]").fill("alice-reviews")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("ul.messages li")

    assert "alice-reviews" in page.inner_text("ul.messages")
    page.goto(f"{live_server.url}/dashboard/")
    assert "alice-reviews" in page.inner_text("h1")
