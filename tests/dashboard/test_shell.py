"""The page shell (templates/base.html and _shell_nav.html): the portal navigation with the
current page marked, staff links for staff only, the language switcher that works without
JS, `<html lang>`, every string translatable, and the static files it loads."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import override_settings
from django.urls import reverse

from affiliates.models import Affiliate
from tests.factories import AffiliateFactory, UserFactory

pytestmark = pytest.mark.django_db

PORTAL = [
    ("dashboard", "Overview"),
    ("dashboard-referrals", "Referrals"),
    ("dashboard-commissions", "Commissions"),
    ("dashboard-payouts", "Payouts"),
    ("dashboard-links", "Links"),
    ("dashboard-creatives", "Creatives"),
    ("dashboard-leaderboard", "Leaderboard"),
    ("affiliates-testimonial", "Testimonial"),
    ("affiliates-settings", "Settings"),
]
TEMPLATES = Path(settings.BASE_DIR) / "templates"


def _nav(html: str) -> str:
    return re.search(r'<nav class="portal".*?</nav>', html, re.S).group(0)


def _links(nav: str) -> list[tuple[str, str]]:
    return [(href, text.strip()) for href, text in re.findall(r'href="([^"]+)"[^>]*>([^<]+)<', nav)]


def test_an_approved_affiliate_gets_the_portal_navigation_with_the_page_marked(client):
    client.force_login(AffiliateFactory().user)

    html = client.get("/settings/").content.decode()

    nav = _nav(html)
    assert _links(nav) == [(reverse(name), label) for name, label in PORTAL]
    current = re.findall(r'href="([^"]+)" aria-current="page"', nav)
    assert current == ["/settings/"]
    assert "Program" not in nav and "/admin/" not in nav
    assert re.search(r'<button type="submit" class="link" id="logout">Log out</button>', html)


def test_the_overview_is_marked_on_the_dashboard(client):
    client.force_login(AffiliateFactory().user)

    nav = _nav(client.get("/dashboard/").content.decode())

    assert re.findall(r'href="([^"]+)" aria-current="page"', nav) == ["/dashboard/"]


def test_an_applicant_sees_only_what_works_before_approval(client):
    client.force_login(AffiliateFactory(status=Affiliate.Status.APPLIED).user)

    nav = _nav(client.get("/settings/").content.decode())

    assert [label for _, label in _links(nav)] == ["Overview", "Settings"]


def test_staff_get_program_and_admin_and_an_affiliate_staff_member_gets_both(client):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)

    nav = _nav(client.get("/dashboard/program/").content.decode())

    assert _links(nav) == [("/dashboard/program/", "Program"), ("/admin/", "Admin")]
    assert 'href="/dashboard/program/" aria-current="page"' in nav

    AffiliateFactory(user=staff)
    nav = _nav(client.get("/dashboard/").content.decode())
    assert [label for _, label in _links(nav)] == [label for _, label in PORTAL] + [
        "Program",
        "Admin",
    ]


def test_a_visitor_gets_log_in_and_apply(client):
    html = client.get("/accounts/login/").content.decode()

    header = re.search(r'<header class="site">.*?</header>', html, re.S).group(0)
    assert 'href="/accounts/login/" aria-current="page">Log in<' in header
    assert 'href="/accounts/signup/">Become an affiliate<' in header


@override_settings(LANGUAGES=[("en", "English"), ("de", "German"), ("ja", "Japanese")])
def test_the_language_switcher_posts_to_set_language_and_names_each_language_in_itself(client):
    html = client.get("/accounts/login/?next=/dashboard/").content.decode()

    form = re.search(
        r'<form method="post" action="([^"]+)" id="language-switcher">(.*?)</form>', html, re.S
    )
    assert form.group(1) == reverse("set_language") == "/i18n/setlang/"
    body = form.group(2)
    assert 'name="csrfmiddlewaretoken"' in body
    assert '<input type="hidden" name="next" value="/accounts/login/?next=/dashboard/">' in body
    options = re.findall(r'<option value="(\w+)" lang="\w+"( selected)?>([^<]+)</option>', body)
    assert options == [("en", " selected", "English"), ("de", "", "Deutsch"), ("ja", "", "日本語")]
    assert '<button type="submit">Change</button>' in body  # works without JS


def test_the_switcher_sets_the_language_cookie(client):
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/accounts/login/"})

    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"


@override_settings(LANGUAGE_CODE="de")
def test_html_lang_is_the_active_language(client):
    assert '<html lang="de">' in client.get("/accounts/login/").content.decode()


def test_every_string_of_the_shell_is_translatable():
    # Everything left after removing template tags, variables, comments and HTML tags
    # would be shown untranslated; only the brand name may be.
    for name in ("base.html", "_shell_nav.html"):
        source = (TEMPLATES / name).read_text()
        bare = re.sub(r"\{% blocktranslate.*?endblocktranslate %\}", " ", source, flags=re.S)
        bare = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", bare, flags=re.S)
        bare = re.sub(r"<[^>]+>", " ", bare)
        words = set(re.findall(r"[A-Za-z][A-Za-z']+", bare)) - {"Ambassador"}
        assert not words, (name, sorted(words))
        untranslated = re.findall(r'(?:aria-label|title|data-copied)="([^"{]+)"', source)
        assert not untranslated, (name, untranslated)


def test_the_shell_loads_its_first_party_css_and_script(client):
    html = client.get("/accounts/login/").content.decode()

    for path in ("ambassador/shell.css", "ambassador/shell.js"):
        assert f"{settings.STATIC_URL}{path}" in html
        assert finders.find(path), path
    script = Path(finders.find("ambassador/shell.js")).read_text()
    assert "button.copy[data-copy]" in script and "navigator.clipboard" in script
    assert 'data-copied="Copied"' in html
