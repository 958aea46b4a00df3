"""The affiliate's settings page (/settings/): username with the alias note, payout method
summary, language, e-mail preferences, password change."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from affiliates.models import Affiliate
from tests.factories import AffiliateFactory

PASSWORD = "pass-1234-word"  # tests.factories.UserFactory's
URL = "/settings/"


@pytest.fixture
def affiliate(db):
    return AffiliateFactory(username="nora")


@pytest.fixture
def browser(client, affiliate):
    client.force_login(affiliate.user)
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_route_is_named_affiliates_settings():
    assert reverse("affiliates-settings") == URL


def test_anonymous_visitors_go_to_the_login_page(client, db):
    response = client.get(URL)

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_page_shows_every_section(browser):
    response = browser.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    for section in (
        'id="username"',
        'id="payout"',
        'id="language"',
        'id="emails"',
        'id="password"',
    ):
        assert section in html
    assert "/payouts/settings/" in html  # the payout method is changed on its own page
    assert "nora" in html


def test_renaming_says_so_and_that_old_links_keep_working(browser, affiliate):
    response = browser.post(URL, {"action": "username", "username": "nora-tech"}, follow=True)

    affiliate.refresh_from_db()
    assert affiliate.username == "nora-tech"
    assert _messages(response) == [
        "Your username is now “nora-tech”. Links with your earlier usernames keep working."
    ]
    assert "<code>nora</code>" in response.content.decode()  # listed as an earlier username


def test_a_plain_username_post_still_renames(browser, affiliate):
    # The page's original form posted only `username`; it keeps working.
    browser.post(URL, {"username": "nora-two"})

    affiliate.refresh_from_db()
    assert affiliate.username == "nora-two"


def test_a_refused_username_shows_the_rule_and_changes_nothing(browser, affiliate):
    response = browser.post(URL, {"action": "username", "username": "admin"})

    assert response.status_code == 200
    assert "is reserved" in response.content.decode()
    affiliate.refresh_from_db()
    assert affiliate.username == "nora"


def test_the_language_is_saved_and_the_next_page_is_in_it(browser, affiliate):
    response = browser.post(URL, {"action": "language", "lang-language": "de"}, follow=True)

    affiliate.refresh_from_db()
    assert affiliate.language == "de"
    assert _messages(response) == ["Sprache gespeichert."]
    assert '<html lang="de">' in response.content.decode()
    assert browser.cookies["django_language"].value == "de"  # kept after logging out


def test_same_as_my_browser_clears_the_preference(browser, affiliate):
    Affiliate.objects.filter(pk=affiliate.pk).update(language="ja")

    browser.post(URL, {"action": "language", "lang-language": ""})

    affiliate.refresh_from_db()
    assert affiliate.language == ""


def test_an_unknown_language_is_a_form_error_not_a_500(browser, affiliate):
    response = browser.post(URL, {"action": "language", "lang-language": "xx"})

    assert response.status_code == 200
    assert response.context["language_form"].errors
    affiliate.refresh_from_db()
    assert affiliate.language == ""


def test_an_unknown_action_changes_nothing(browser, affiliate):
    response = browser.post(URL, {"action": "drop-tables", "username": "other"})

    assert response.status_code == 200
    affiliate.refresh_from_db()
    assert affiliate.username == "nora"


def test_email_preferences_are_saved(browser, affiliate):
    # An unticked box is absent from the POST: off.
    response = browser.post(URL, {"action": "emails", "emails-monthly_report": "on"}, follow=True)

    affiliate.refresh_from_db()
    assert (
        affiliate.email_commission_approved,
        affiliate.email_payout_sent,
        affiliate.email_monthly_report,
    ) == (False, False, True)
    assert _messages(response) == ["E-mail preferences saved."]
    page = response.content.decode()
    assert 'name="emails-monthly_report" id="id_emails-monthly_report" checked' in page


def test_the_password_is_changed_and_the_session_kept(browser, affiliate):
    response = browser.post(
        URL,
        {
            "action": "password",
            "pw-old_password": PASSWORD,
            "pw-new_password1": "a-new-long-secret-41",
            "pw-new_password2": "a-new-long-secret-41",
        },
        follow=True,
    )

    affiliate.user.refresh_from_db()
    assert affiliate.user.check_password("a-new-long-secret-41")
    assert _messages(response) == ["Your password was changed."]
    assert browser.session[SESSION_KEY] == str(affiliate.user.pk)  # still logged in
    assert browser.get(URL).status_code == 200


def test_a_wrong_old_password_changes_nothing(browser, affiliate):
    response = browser.post(
        URL,
        {
            "action": "password",
            "pw-old_password": "wrong",
            "pw-new_password1": "a-new-long-secret-41",
            "pw-new_password2": "a-new-long-secret-41",
        },
    )

    assert response.status_code == 200
    assert response.context["password_form"].errors["old_password"]
    affiliate.user.refresh_from_db()
    assert affiliate.user.check_password(PASSWORD)


def test_the_payout_summary_shows_the_method(browser, affiliate):
    from payouts.models import PayoutAccount

    PayoutAccount.objects.create(
        affiliate=affiliate, method=PayoutAccount.Method.PAYPAL, paypal_email="nora@paypal.test"
    )

    html = browser.get(URL).content.decode()

    assert "PayPal" in html and "nora@paypal.test" in html and "not confirmed yet" in html


def test_without_a_payout_method_the_page_says_what_to_do(browser):
    html = browser.get(URL).content.decode()

    assert "No payout method yet" in html


def test_the_page_needs_a_constant_number_of_queries(
    browser, affiliate, django_assert_max_num_queries
):
    browser.get(URL)  # the language preference is cached in the session on the first page
    for n in range(5):
        affiliate.usernames.create(name=f"old-name-{n}")

    with django_assert_max_num_queries(8):
        browser.get(URL)
