"""The payout security notices and the PayPal confirmation go through the e-mail framework
(registered, previewable) with the same recipients, subjects and bodies as when they were
built in Python: transactional (no unsubscribe link, sent whatever the preferences), after
commit, in the affiliate's language."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group

from affiliates.models import Affiliate
from payouts.services import accounts
from tests.factories import AffiliateFactory

PASSWORD = "pass-1234-word"  # tests.factories.UserFactory's
NOW = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)


@pytest.fixture
def affiliate(db):
    affiliate = AffiliateFactory()
    # Every optional e-mail off: these are security notices, sent all the same.
    Affiliate.objects.filter(pk=affiliate.pk).update(
        email_payout_sent=False, email_commission_approved=False, email_monthly_report=False
    )
    affiliate.refresh_from_db()
    return affiliate


@pytest.fixture
def manager(db):
    from affiliates.roles import PROGRAM_MANAGER
    from tests.factories import UserFactory

    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=PROGRAM_MANAGER))
    return user


def test_a_paypal_change_warns_the_login_address_and_asks_the_new_one_to_confirm(
    affiliate, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        accounts.set_paypal_email(
            affiliate=affiliate, email="New@PayPal.test", now=NOW, password=PASSWORD
        )
        assert mailoutbox == []  # queued, not sent, until the transaction commits
    assert callbacks

    to = {m.to[0]: m for m in mailoutbox}
    assert set(to) == {affiliate.user.email, "new@paypal.test"} and len(mailoutbox) == 2
    warning = to[affiliate.user.email]
    assert warning.subject == "Your payout details were changed"
    assert warning.body == (
        "Your payout details were changed (PayPal e-mail) at 2026-11-02 10:30 UTC.\n"
        "For your safety, payouts are held for 48 hours after a change.\n"
        "If this was not you, reply to this e-mail at once.\n"
    )
    token = accounts.PayoutAccount.objects.get(affiliate=affiliate).paypal_confirm_token
    confirm = to["new@paypal.test"]
    assert confirm.subject == "Confirm your PayPal e-mail for payouts"
    assert confirm.body == (
        "Confirm that new@paypal.test should receive your Ambassador payouts through PayPal:\n"
        f"\nhttp://127.0.0.1:8000/payouts/paypal/confirm/{token}/\n"
    )
    for message in mailoutbox:
        assert "unsubscribe" not in message.body.lower()
        assert "List-Unsubscribe" not in message.extra_headers


def test_the_confirmation_to_the_paypal_address_is_in_the_affiliates_language(
    affiliate, mailoutbox, django_capture_on_commit_callbacks
):
    Affiliate.objects.filter(pk=affiliate.pk).update(language="de")
    affiliate.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        accounts.set_paypal_email(
            affiliate=affiliate, email="a@paypal.test", now=NOW, password=PASSWORD
        )

    to = {m.to[0]: m for m in mailoutbox}
    assert (
        to["a@paypal.test"].subject == "Bestätigen Sie Ihre PayPal-E-Mail-Adresse für Auszahlungen"
    )
    assert to[affiliate.user.email].subject == "Ihre Auszahlungsdaten wurden geändert"
    assert "48 Stunden" in to[affiliate.user.email].body


def test_a_change_by_staff_names_the_team_and_the_reason(
    affiliate, manager, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        accounts.set_manual_details(
            affiliate=affiliate,
            bank_details="IBAN X",
            now=NOW,
            staff=manager,
            reason="Asked by phone",
        )

    (message,) = mailoutbox
    assert message.to == [affiliate.user.email]
    assert message.body == (
        "Your payout details were changed (bank details) at 2026-11-02 10:30 UTC by the "
        "Ambassador team. Reason: Asked by phone.\n"
        "For your safety, payouts are held for 48 hours after a change.\n"
        "If this was not you, reply to this e-mail at once.\n"
    )


def test_the_hold_sentence_is_singular_for_one_hour(
    affiliate, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.PAYOUT_DETAILS_HOLD_HOURS = 1
    with django_capture_on_commit_callbacks(execute=True):
        accounts.set_manual_details(
            affiliate=affiliate, bank_details="IBAN X", now=NOW, password=PASSWORD
        )

    (message,) = mailoutbox
    assert "payouts are held for 1 hour after a change." in message.body


def test_tax_details_changed_by_staff_tell_the_affiliate_and_by_itself_do_not(
    affiliate, manager, mailoutbox, django_capture_on_commit_callbacks
):
    tax = {"legal_name": "Nora N", "country": "de", "tax_id": "DE1", "tax_form": "w8ben"}
    with django_capture_on_commit_callbacks(execute=True):
        accounts.set_tax_details(affiliate=affiliate, now=NOW, password=PASSWORD, **tax)
    assert mailoutbox == []

    with django_capture_on_commit_callbacks(execute=True):
        accounts.set_tax_details(affiliate=affiliate, now=NOW, staff=manager, reason="Typo", **tax)

    (message,) = mailoutbox
    assert message.to == [affiliate.user.email]
    assert message.subject == "Your tax details were changed"
    assert message.body == (
        "Your tax details were changed at 2026-11-02 10:30 UTC by the Ambassador team. "
        "Reason: Typo.\n"
        "If this is not right, reply to this e-mail.\n"
    )
