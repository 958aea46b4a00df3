"""The affiliate's Creatives page: active banners with a preview and an embed snippet that
carries the affiliate's link, the image's absolute URL and its escaped alt text."""

import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from affiliates.models import Affiliate
from tests.factories import AffiliateFactory
from tests.tracking.test_creatives import image_bytes
from tracking.models import Creative

pytestmark = pytest.mark.django_db
URL = "/dashboard/creatives/"


@pytest.fixture(autouse=True)
def _site(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SITE_URL = "https://example.com"
    settings.SITE_HOSTS = ["example.com"]
    settings.SITE_TRAILING_SLASH = True
    settings.AMBASSADOR_URL = "https://partners.example.com"


@pytest.fixture
def alice_client(client):
    alice = AffiliateFactory(username="alice")
    client.force_login(alice.user)
    return client


def creative(name="Leaderboard", size=(728, 90), **kw) -> Creative:
    image = SimpleUploadedFile("x.png", image_bytes(size=size), "image/png")
    defaults = {"alt_text": "Example", "target_path": "/pricing/"}
    return Creative.objects.create(name=name, image=image, **{**defaults, **kw})


def snippets(body: str) -> list[str]:
    return [unescape(v) for v in re.findall(r'class="copy" data-copy="([^"]*)"', body)]


def test_the_embed_snippet_links_to_the_target_page_with_the_affiliates_username(alice_client):
    banner = creative(alt_text='Say "hi" <script>alert(1)</script> & save')

    body = alice_client.get(URL).content.decode()

    image_url = f"https://partners.example.com/media/{banner.image.name}"
    assert snippets(body) == [
        '<a href="https://example.com/pricing/alice" rel="sponsored noopener">'
        f'<img src="{image_url}" width="728" height="90" '
        'alt="Say &quot;hi&quot; &lt;script&gt;alert(1)&lt;/script&gt; &amp; save"></a>'
    ]
    assert "<script>alert(1)" not in body  # the alt text is escaped in the preview too
    assert f'src="/media/{banner.image.name}"' in body  # the preview


def test_only_active_creatives_are_listed_newest_first(alice_client):
    creative(name="Old banner")
    creative(name="Withdrawn", is_active=False)
    creative(name="New logo", size=(200, 200), target_path="/")

    body = alice_client.get(URL).content.decode()

    assert "Withdrawn" not in body
    assert body.index("New logo") < body.index("Old banner")
    assert 'href="https://example.com/alice" rel="sponsored noopener"' in "".join(snippets(body))


def test_with_no_creatives_the_page_says_none_yet(alice_client):
    body = alice_client.get(URL).content.decode()

    assert 'id="no-creatives"' in body and "No banners or logos yet" in body


def test_a_target_no_longer_on_the_site_falls_back_to_the_home_page(alice_client, settings):
    creative(target_path="/pricing/")
    settings.SITE_HOSTS = ["example.com"]
    Creative.objects.update(target_path="/a\\b")  # written past the validator

    body = alice_client.get(URL).content.decode()

    assert 'href="https://example.com/alice"' in snippets(body)[0]


def test_the_query_count_does_not_grow_with_the_creatives(alice_client):
    for i in range(2):
        creative(name=f"B{i}")
    with CaptureQueriesContext(connection) as few:
        alice_client.get(URL)
    for i in range(2, 20):
        creative(name=f"B{i}")

    with CaptureQueriesContext(connection) as many:
        body = alice_client.get(URL).content.decode()

    assert len(many) == len(few)
    assert len(snippets(body)) == 20


def test_an_applicant_sees_no_creatives(client):
    creative()
    applicant = AffiliateFactory(username="newbie", status=Affiliate.Status.APPLIED)
    client.force_login(applicant.user)

    body = client.get(URL).content.decode()

    assert "available once your application is approved" in body
    assert snippets(body) == [] and "Leaderboard" not in body


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/dashboard/creatives/")
