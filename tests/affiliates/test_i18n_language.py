"""The affiliate's language: remembered from the switcher and the settings page, applied on
every page after login, and used for every e-mail to the affiliate; e-mail preferences
honoured where those e-mails are sent, never for security or transactional mail."""

import pytest
from django.core import mail
from django.utils import translation

from affiliates import services
from affiliates.middleware import SESSION_KEY
from affiliates.models import Affiliate
from tests.factories import AffiliateFactory, UserFactory


@pytest.fixture(autouse=True)
def _english_afterwards():
    yield
    translation.deactivate()


@pytest.fixture
def affiliate(db):
    return AffiliateFactory(username="nora")


def _switch(client, language, next_url="/settings/"):
    return client.post("/i18n/setlang/", {"language": language, "next": next_url})


def test_the_switcher_saves_a_logged_in_affiliates_choice(client, affiliate):
    client.force_login(affiliate.user)

    response = _switch(client, "ja")

    assert response.status_code == 302 and response["Location"] == "/settings/"
    affiliate.refresh_from_db()
    assert affiliate.language == "ja"
    html = client.get("/settings/").content.decode()
    assert '<html lang="ja">' in html and "ユーザー名" in html


def test_a_refused_code_on_the_switcher_saves_nothing(client, affiliate):
    client.force_login(affiliate.user)

    _switch(client, "xx")

    affiliate.refresh_from_db()
    assert affiliate.language == ""


def test_the_switcher_works_for_anonymous_visitors_with_a_cookie(client, db):
    _switch(client, "fr", "/accounts/login/")

    html = client.get("/accounts/login/").content.decode()
    assert '<html lang="fr">' in html and "Mot de passe oublié ?" in html


def test_the_switcher_does_not_touch_staff_without_an_affiliate(client, db):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)

    response = _switch(client, "de", "/accounts/login/")

    assert response.status_code == 302
    assert not Affiliate.objects.exists()


def test_an_impersonators_choice_is_not_saved_as_the_affiliates(client, affiliate):
    client.force_login(affiliate.user)
    session = client.session
    session["impersonator_id"] = 1
    session.save()

    _switch(client, "it")

    affiliate.refresh_from_db()
    assert affiliate.language == ""


def test_the_saved_language_follows_the_affiliate_to_a_new_device(client, affiliate):
    Affiliate.objects.filter(pk=affiliate.pk).update(language="nl")
    client.force_login(affiliate.user)  # a fresh session: no cookie, an English browser

    html = client.get("/settings/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<html lang="nl">' in html and "Je gebruikersnaam" in html
    assert client.session[SESSION_KEY] == "nl"  # read once, then from the session


def test_without_a_preference_the_browser_decides(client, affiliate):
    client.force_login(affiliate.user)

    html = client.get("/settings/", HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert '<html lang="es">' in html and "Tu nombre de usuario" in html


def test_the_preference_is_read_once_per_session(client, affiliate):
    client.force_login(affiliate.user)
    client.get("/settings/")
    Affiliate.objects.filter(pk=affiliate.pk).update(language="pt")  # not via the service

    html = client.get("/settings/").content.decode()

    assert '<html lang="en">' in html  # cached: only the service updates the session


def test_set_language_refuses_codes_outside_the_eight(affiliate):
    from config.errors import ServiceError

    with pytest.raises(ServiceError):
        services.set_language(affiliate=affiliate, language="sv")


# --- e-mails ---------------------------------------------------------------------------


def test_status_emails_are_written_in_the_affiliates_language(
    affiliate, mailoutbox, django_capture_on_commit_callbacks
):
    Affiliate.objects.filter(pk=affiliate.pk).update(language="de")

    with django_capture_on_commit_callbacks(execute=True):
        services.send_status_email(affiliate_id=affiliate.pk, event="approved")

    (message,) = mailoutbox
    assert "Ihr Partnerkonto ist freigeschaltet" in message.subject
    assert "Ihr Partnerkonto „nora“ bei" in message.body
    assert translation.get_language() == "en"  # override undone


def test_status_emails_without_a_preference_are_english(
    affiliate, mailoutbox, django_capture_on_commit_callbacks
):
    with translation.override("fr"), django_capture_on_commit_callbacks(execute=True):
        services.send_status_email(affiliate_id=affiliate.pk, event="applied")

    (message,) = mailoutbox
    assert message.subject.endswith("We received your application")


def test_commission_approved_mail_honours_the_preference_and_the_language(
    db, mailoutbox, django_capture_on_commit_callbacks
):
    from commissions.services.approval import _notify_approved

    wants = AffiliateFactory(language="ja")
    declined = AffiliateFactory(email_commission_approved=False)

    with django_capture_on_commit_callbacks(execute=True):
        _notify_approved(affiliate_ids=[wants.pk, declined.pk])

    assert [m.to for m in mailoutbox] == [[wants.user.email]]
    assert "コミッションが承認されました" in mailoutbox[0].subject


def _payout(affiliate, **fields):
    from django.utils import timezone

    from payouts.models import Payout, PayoutRun

    now = timezone.now()
    run = PayoutRun.objects.create(started_at=now)
    defaults = {
        "amount": 123450,  # USD 1,234.50
        "currency": "USD",
        "method": "paypal",
        "destination": "nora@paypal.test",
        "idempotency_key": f"key-{affiliate.pk}-{fields.get('state')}",
        "created_at": now,
    }
    return Payout.objects.create(run=run, affiliate=affiliate, **{**defaults, **fields})


def test_payout_sent_mail_is_in_the_language_with_local_money(
    affiliate, mailoutbox, django_capture_on_commit_callbacks
):
    from payouts.services.notifications import notify_payout

    Affiliate.objects.filter(pk=affiliate.pk).update(language="de")
    payout = _payout(affiliate, state="paid")

    with django_capture_on_commit_callbacks(execute=True):
        assert notify_payout(payout_id=payout.pk)

    (message,) = mailoutbox
    # 123450 cents = 1,234.50 USD, written the German way (the subject line folds the
    # no-break space into a plain one; the body keeps it).
    assert message.subject == "Ihre Auszahlung von 1.234,50 USD wurde gesendet"
    # An optional e-mail: the text ends with its unsubscribe link (config.emails).
    first_line, *_rest = message.body.splitlines()
    assert first_line == "Wir haben Ihnen 1.234,50\u00a0USD über PayPal gesendet."
    assert "/emails/unsubscribe/" in message.body


def test_payout_sent_mail_can_be_turned_off_but_a_failure_is_always_sent(
    affiliate, mailoutbox, django_capture_on_commit_callbacks
):
    from payouts.services.notifications import notify_payout

    Affiliate.objects.filter(pk=affiliate.pk).update(email_payout_sent=False)
    paid = _payout(affiliate, state="paid")
    failed = _payout(affiliate, state="failed", failure_reason="Receiver unknown")

    with django_capture_on_commit_callbacks(execute=True):
        assert not notify_payout(payout_id=paid.pk)
        assert notify_payout(payout_id=failed.pk)

    (message,) = mailoutbox
    assert message.subject == "Your payout of USD 1,234.50 could not be sent"


def test_the_payout_details_notice_ignores_preferences_and_uses_the_language(
    affiliate, mailoutbox, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from payouts.services import accounts

    Affiliate.objects.filter(pk=affiliate.pk).update(
        language="fr",
        email_payout_sent=False,
        email_commission_approved=False,
        email_monthly_report=False,
    )
    affiliate.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        accounts.set_manual_details(
            affiliate=affiliate,
            bank_details="IBAN FR76 0000",
            now=timezone.now(),
            password="pass-1234-word",
        )

    (message,) = mailoutbox
    assert message.subject == "Vos informations de paiement ont été modifiées"
    assert "(coordonnées bancaires)" in message.body
    assert "48 heures" in message.body


def test_the_password_reset_mail_is_in_the_affiliates_language(
    client, affiliate, django_capture_on_commit_callbacks
):
    Affiliate.objects.filter(pk=affiliate.pk).update(language="it")

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password_reset/", {"email": affiliate.user.email})

    (message,) = mail.outbox
    assert message.subject == "Reimposta la password del tuo account affiliato"
    assert "Scegli qui una nuova password:" in message.body
