"""The affiliate's Links page: both link forms, the sponsored snippet, copy buttons, the QR
code, a form error for a URL off the site, the landing pages and referrers, applicants."""

import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from affiliates.models import Affiliate
from tests.dashboard.conftest import path_stat, referrer_stat
from tests.factories import AffiliateFactory

pytestmark = [
    pytest.mark.django_db,
    # The site as the examples in tracking/links.py know it.
    pytest.mark.usefixtures("_site"),
]
URL = "/dashboard/links/"


@pytest.fixture
def _site(settings):
    settings.SITE_URL = "https://example.com"
    settings.SITE_HOSTS = ["example.com", "www.example.com"]
    settings.SITE_TRAILING_SLASH = True
    settings.AMBASSADOR_URL = "https://partners.example.com"


@pytest.fixture
def alice_client(client):
    alice = AffiliateFactory(username="alice")
    client.force_login(alice.user)
    client.affiliate = alice
    return client


def _copies(body: str) -> list[str]:
    return [
        unescape(v)
        for v in re.findall(r'<button type="button" class="copy" data-copy="([^"]*)"', body)
    ]


def test_a_page_of_the_site_gives_the_path_and_ref_links_with_copy_buttons(alice_client):
    response = alice_client.get(URL, {"url": "https://example.com/blog/post/?plan=pro"})

    body = response.content.decode()
    assert response.status_code == 200
    path_link = "https://example.com/blog/post/alice?plan=pro"
    ref_link = "https://example.com/blog/post/?plan=pro&ref=alice"
    snippet = f'<a href="{path_link}" rel="sponsored noopener">{path_link}</a>'
    assert _copies(body) == [path_link, ref_link, snippet]
    # The snippet is shown as text (escaped), not rendered as a link.
    assert (
        '&lt;a href="https://example.com/blog/post/alice?plan=pro" rel="sponsored'
        in body.replace("&quot;", '"')
    )


def test_without_a_url_the_home_page_link_is_shown(alice_client):
    response = alice_client.get(URL)

    assert _copies(response.content.decode())[:2] == [
        "https://example.com/alice",
        "https://example.com/?ref=alice",
    ]


def test_a_path_or_a_url_without_https_is_taken_as_a_page_of_the_site(alice_client):
    by_path = alice_client.get(URL, {"url": "/pricing"}).content.decode()
    no_scheme = alice_client.get(URL, {"url": "www.example.com/pricing"}).content.decode()

    assert _copies(by_path)[0] == "https://example.com/pricing/alice"
    assert _copies(no_scheme)[0] == "https://www.example.com/pricing/alice"


def test_the_qr_code_is_an_inline_svg_of_the_path_link(alice_client):
    body = alice_client.get(URL, {"url": "/pricing/"}).content.decode()

    svg = re.search(r"<svg[^>]*class=\"qr\"[^>]*>.*?</svg>", body, re.S)
    assert svg is not None
    assert "viewBox" in svg.group(0) and "width=" not in svg.group(0).split(">", 1)[0]
    assert 'download="qr-alice.svg"' in body and 'href="data:image/png;base64,' in body


def test_the_qr_code_decodes_to_the_path_link(alice_client):
    # The QR code is of link.url: the same segno call on the same text gives the same SVG.
    import segno

    body = alice_client.get(URL, {"url": "/pricing/"}).content.decode()

    expected = segno.make("https://example.com/pricing/alice", error="m", micro=False)
    path_d = re.search(r'<path[^>]* d="([^"]+)"', expected.svg_inline(scale=1, border=2)).group(1)
    assert path_d in body


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.org/pricing",
        "https://example.com.evil.org/",
        "javascript:alert(1)",
        "ftp://example.com/file",
        "//evil.org/x",
        "http://[::1",
        "https://example.com\\@evil.org/",
        "not a url at all",
    ],
)
def test_a_url_off_the_site_is_a_form_error_and_no_link(alice_client, url):
    response = alice_client.get(URL, {"url": url})

    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="url-error"' in body
    assert "This is not a page of our site" in body
    assert 'id="link-output"' not in body and _copies(body) == []
    assert "evil" not in body.split('id="url-error"', 1)[1].split("</ul>", 1)[0]


def test_a_url_longer_than_the_limit_is_a_form_error(alice_client):
    response = alice_client.get(URL, {"url": "https://example.com/" + "a" * 2100})

    assert response.status_code == 200
    assert 'id="url-error"' in response.content.decode()


@given(url=st.text(max_size=300), period=st.text(max_size=20))
@hsettings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_no_input_breaks_the_page_and_an_off_site_url_never_gives_a_link(alice_client, url, period):
    response = alice_client.get(URL, {"url": url, "range": period, "from": period})

    assert response.status_code == 200
    for link in _copies(response.content.decode()):
        # Every link offered (and the snippet's href) is on the site.
        href = re.search(r'href="([^"]+)"', link)
        target = unescape(href.group(1)) if href else link
        assert re.match(r"https?://(www\.)?example\.com[/?:]", target), target


@given(host=st.from_regex(r"[a-z0-9.-]{1,30}", fullmatch=True), path=st.text(max_size=40))
@hsettings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_an_other_host_never_gives_a_link(alice_client, host, path):
    if host in ("example.com", "www.example.com"):
        return

    response = alice_client.get(URL, {"url": f"https://{host}/{path}"})

    assert response.status_code == 200
    assert _copies(response.content.decode()) == []


def test_top_landing_pages_and_referrers_over_the_period_with_links_to_make(alice_client, days_ago):
    alice = alice_client.affiliate
    path_stat(alice, days_ago(1), "/pricing/", clicks=7, unique_clicks=5, signups=1)
    path_stat(alice, days_ago(3), "/pricing/", clicks=3, unique_clicks=3)
    path_stat(alice, days_ago(2), "/blog/post/", clicks=4)
    path_stat(alice, days_ago(40), "/old/", clicks=99)  # outside the last 30 days
    referrer_stat(alice, days_ago(1), "news.example.net", clicks=6, signups=2)
    referrer_stat(alice, days_ago(1), "", clicks=2)
    other = AffiliateFactory(username="bob")
    path_stat(other, days_ago(1), "/secret-bob-page/", clicks=500)
    referrer_stat(other, days_ago(1), "bob-only.example", clicks=500)

    body = alice_client.get(URL).content.decode()

    paths = body.split('id="top-paths"', 1)[1].split("</table>", 1)[0]
    # /pricing/: 7 + 3 = 10 clicks, 5 + 3 = 8 unique, 1 signup; /blog/post/: 4.
    assert re.search(
        r"/pricing/</code></a></td><td class=\"num\">10</td><td class=\"num opt\">8</td><td class=\"num\">1</td>",
        paths,
    )
    assert paths.index("/pricing/") < paths.index("/blog/post/")
    assert 'href="?url=/pricing/&amp;range=30"' in paths
    assert "/old/" not in paths and "secret-bob-page" not in body
    referrers = body.split('id="top-referrers"', 1)[1].split("</table>", 1)[0]
    assert 'news.example.net</code></td><td class="num">6</td>' in referrers
    assert "direct (no referring site)" in referrers
    assert "bob-only" not in body


def test_the_period_picker_changes_the_counts(alice_client, days_ago):
    alice = alice_client.affiliate
    path_stat(alice, days_ago(1), "/pricing/", clicks=7)
    path_stat(alice, days_ago(60), "/pricing/", clicks=5)

    last_30 = alice_client.get(URL).content.decode().split('id="top-paths"', 1)[1]
    last_90 = alice_client.get(URL, {"range": "90"}).content.decode().split('id="top-paths"', 1)[1]

    assert '<td class="num">7</td>' in last_30
    assert '<td class="num">12</td>' in last_90  # 7 + 5


def test_the_query_count_does_not_grow_with_the_rows(alice_client, days_ago):
    alice = alice_client.affiliate
    for i in range(2):
        path_stat(alice, days_ago(1), f"/p{i}/", clicks=1)
        referrer_stat(alice, days_ago(1), f"r{i}.example", clicks=1)
    with CaptureQueriesContext(connection) as few:
        alice_client.get(URL)
    for i in range(2, 40):
        path_stat(alice, days_ago(1), f"/p{i}/", clicks=1)
        referrer_stat(alice, days_ago(1), f"r{i}.example", clicks=1)
    with CaptureQueriesContext(connection) as many:
        body = alice_client.get(URL).content.decode()

    assert len(many) == len(few)
    assert body.count('href="?url=/p') == 25  # LINKS_TOP_LIMIT


@pytest.mark.parametrize("status", [Affiliate.Status.APPLIED, Affiliate.Status.SUSPENDED])
def test_an_affiliate_not_approved_gets_no_links(client, status):
    applicant = AffiliateFactory(username="newbie", status=status)
    client.force_login(applicant.user)

    body = client.get(URL, {"url": "/pricing/"}).content.decode()

    assert 'id="links-unavailable"' in body
    assert "newbie" not in body.split("<main", 1)[-1].split('id="links-unavailable"', 1)[1]
    assert _copies(body) == [] and "<svg" not in body
    if status == Affiliate.Status.APPLIED:
        assert "available once your application is approved" in body


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/dashboard/links/")
