"""The link generator and the pure URL helpers."""

import pytest

from config.errors import ServiceError
from tracking import links
from tracking.links import build_affiliate_link

pytestmark = pytest.mark.django_db


def test_a_site_url_becomes_path_ref_and_redirect_links_with_sponsored_html(alice):
    link = build_affiliate_link(
        affiliate=alice, url="https://example.com/blog/post/?plan=pro", text="Try it"
    )

    assert link.url == "https://example.com/blog/post/alice?plan=pro"
    assert link.ref_url == "https://example.com/blog/post/?plan=pro&ref=alice"
    assert link.redirect_url == "http://127.0.0.1:8000/r/blog/post/alice?plan=pro"
    assert link.html == (
        '<a href="https://example.com/blog/post/alice?plan=pro" rel="sponsored noopener">Try it</a>'
    )


def test_a_bare_path_and_the_home_page_work(alice):
    assert (
        build_affiliate_link(affiliate=alice, url="/pricing").url
        == "https://example.com/pricing/alice"
    )
    assert (
        build_affiliate_link(affiliate=alice, url="https://example.com").url
        == "https://example.com/alice"
    )


@pytest.mark.parametrize(
    "url", ["https://evil.com/", "//evil.com/x", "javascript:alert(1)", "ftp://example.com/"]
)
def test_an_off_site_url_is_a_clear_error(alice, url):
    with pytest.raises(ServiceError) as err:
        build_affiliate_link(affiliate=alice, url=url)

    assert err.value.code == "off_site"
    assert "not a page of the site" in err.value.message


def test_referrer_classes():
    assert links.medium_for(links.referrer_domain("")) == "direct"
    assert links.medium_for(links.referrer_domain("https://m.facebook.com/x")) == "social"
    assert links.medium_for(links.referrer_domain("https://www.someblog.net/post")) == "website"
    assert links.referrer_domain("https://www.someblog.net/post") == "someblog.net"


def test_ad_referrer_patterns_match_hosts_and_paths():
    assert links.ad_reason([], "https://adclick.g.doubleclick.net/x") == "ad_referrer"
    assert links.ad_reason([], "https://www.bing.com/aclk?ld=1") == "ad_referrer"
    assert links.ad_reason([], "https://www.bing.com/search?q=x") == ""
    assert links.ad_reason([("GCLID", "1")], "") == "ad_param"
