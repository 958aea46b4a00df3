"""/admin/emails/: every registered e-mail previewed, in any of the eight languages, for staff
only."""

import re

import pytest
from django.conf import settings

from config import emails as registry


def test_the_list_names_every_email_with_a_link_per_language(manager_client):
    page = manager_client.get("/admin/emails/")

    assert page.status_code == 200
    html = page.content.decode()
    for email in registry.all_emails():
        for code, _label in settings.LANGUAGES:
            assert f"/admin/emails/{email.name}/?lang={code}" in html


@pytest.mark.parametrize("name", [e.name for e in registry.all_emails()])
def test_each_preview_shows_subject_text_and_sandboxed_html(manager_client, name):
    page = manager_client.get(f"/admin/emails/{name}/?lang=ja")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="subject"' in html and 'id="text"' in html
    assert '<iframe id="html" sandbox=""' in html
    assert "<strong>日本語</strong>" in html
    # The whole HTML part is in the srcdoc attribute, escaped: an unescaped quote in it
    # (lang="ja") would end the attribute and show an empty frame.
    srcdoc = re.search(r'srcdoc="([^"]*)"', html).group(1)
    assert "&lt;/html&gt;" in srcdoc and "&lt;body" in srcdoc


def test_an_unknown_email_or_language(manager_client):
    assert manager_client.get("/admin/emails/nope/").status_code == 404
    page = manager_client.get("/admin/emails/payout_sent/?lang=xx")
    assert page.status_code == 200 and "<strong>English</strong>" in page.content.decode()


def test_previews_are_for_staff_only(client, db):
    from tests.factories import AffiliateFactory

    affiliate = AffiliateFactory()
    client.force_login(affiliate.user)

    for path in ("/admin/emails/", "/admin/emails/payout_sent/"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
