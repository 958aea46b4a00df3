"""The e-mail framework: every registered e-mail renders in the eight languages as text
and HTML, optional ones carry a working unsubscribe link, and mail leaves multipart."""

import re

import pytest
from django.conf import settings
from django.utils import translation

from affiliates.models import Affiliate
from config import emails as registry
from config.emails import make_token, read_token, unsubscribe_url
from emails.catalog import sample_affiliate
from tests.factories import AffiliateFactory

LANGUAGES = [code for code, _label in settings.LANGUAGES]


def test_the_eight_languages_are_the_programs():
    assert LANGUAGES == ["en", "de", "fr", "es", "it", "nl", "pt", "ja"]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", [e.name for e in registry.all_emails()])
def test_every_email_renders_in_every_language(name, language):
    email = registry.get(name)
    url = unsubscribe_url(affiliate=sample_affiliate(), preference=email.preference)

    rendered = registry.render(name, context=email.sample(), language=language, unsubscribe_url=url)

    assert rendered.subject and "\n" not in rendered.subject
    assert "{{" not in rendered.text and "{%" not in rendered.text
    assert rendered.text.strip()
    assert rendered.html.startswith("<!doctype html>") and f'lang="{language}"' in rendered.html
    # The optional ones, and only they, link to their unsubscribe page in both parts.
    assert email.transactional == (url == "")
    assert ("/emails/unsubscribe/" in rendered.text) == (not email.transactional)
    assert ("/emails/unsubscribe/" in rendered.html) == (not email.transactional)
    assert email.transactional or url in rendered.text
    assert translation.get_language() == "en"  # override undone


def test_a_german_rendering_leaks_no_english():
    # The approval e-mail: every one of its strings is in the German catalogue.
    email = registry.get("application_approved")

    rendered = registry.render(email.name, context=email.sample(), language="de")

    english = ["Hello", "approved", "Share any page", "Log in", "Remember", "your dashboard"]
    assert not [w for w in english if w.lower() in rendered.text.lower()]
    assert "Hallo" in rendered.text


def test_text_is_not_html_escaped_and_html_is(settings):
    settings.PROGRAM_NAME = "Tom & Jerry's <Shop>"
    email = registry.get("application_approved")

    rendered = registry.render(email.name, context=email.sample(), language="en")

    assert rendered.subject.startswith("Tom & Jerry's <Shop>: You're in")
    assert "Tom & Jerry's <Shop>" in rendered.text
    assert "Tom &amp; Jerry&#x27;s &lt;Shop&gt;" in rendered.html
    assert "<Shop>" not in rendered.html


def test_an_unsubscribe_token_names_one_affiliate_and_flag_and_cannot_be_altered():
    token = make_token(public_id="abc", preference="email_payout_sent")

    assert read_token(token) == ("abc", "email_payout_sent")
    assert read_token(token[:-2] + "xx") is None
    assert read_token(make_token(public_id="abc", preference="is_employee")) is None
    assert read_token("junk") is None


@pytest.mark.django_db(transaction=True)
def test_an_optional_email_is_multipart_with_list_unsubscribe_and_honours_the_flag(mailoutbox):
    on = AffiliateFactory()
    off = AffiliateFactory(email_monthly_report=False)
    context = registry.get("monthly_report").sample()

    assert registry.send_to_affiliate("monthly_report", affiliate=on, context=context)
    assert not registry.send_to_affiliate("monthly_report", affiliate=off, context=context)

    (message,) = mailoutbox
    assert message.to == [on.user.email]
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html" and "<table" in html
    link = re.search(r"<(http://[^>]+)>", message.extra_headers["List-Unsubscribe"]).group(1)
    assert link.startswith(settings.AMBASSADOR_URL + "/emails/unsubscribe/")
    assert link in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.django_db(transaction=True)
def test_a_transactional_email_has_no_unsubscribe(mailoutbox):
    affiliate = AffiliateFactory(email_payout_sent=False, email_monthly_report=False)

    registry.send_to_affiliate("application_approved", affiliate=affiliate, context={})

    (message,) = mailoutbox
    assert "List-Unsubscribe" not in message.extra_headers
    assert "/emails/unsubscribe/" not in message.body


def test_get_asks_to_confirm_and_post_turns_only_that_flag_off(client, db):
    affiliate = AffiliateFactory(language="de")
    url = unsubscribe_url(affiliate=affiliate, preference="email_payout_sent")
    path = url.removeprefix(settings.AMBASSADOR_URL)

    page = client.get(path)

    assert page.status_code == 200 and b"<form" in page.content
    assert Affiliate.objects.get(pk=affiliate.pk).email_payout_sent  # a GET changes nothing

    done = client.post(path)
    again = client.post(path, {"List-Unsubscribe": "One-Click"})  # a mail client's one-click

    assert done.status_code == again.status_code == 200
    row = Affiliate.objects.get(pk=affiliate.pk)
    assert (row.email_payout_sent, row.email_monthly_report) == (False, True)
    assert row.email_commission_approved and row.email_commission_digest


def test_a_forged_unsubscribe_link_is_a_404(client, db):
    affiliate = AffiliateFactory()
    token = make_token(public_id=affiliate.public_id, preference="email_payout_sent")

    response = client.post(f"/emails/unsubscribe/{token[:-3]}abc/")

    assert response.status_code == 404
    assert Affiliate.objects.get(pk=affiliate.pk).email_payout_sent
