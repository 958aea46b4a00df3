"""Payout settings page, PayPal confirmation, Stripe onboarding, API, CSV export, admin, command."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone

from affiliates.roles import SUPPORT
from commissions.models import CommissionEntry
from payouts import services
from payouts.models import Payout, PayoutAccount
from tests.factories import (
    AffiliateFactory,
    CommissionEntryFactory,
    PayoutAccountFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
PASSWORD = "pass-1234-word"


@pytest.fixture
def affiliate_client(client):
    affiliate = AffiliateFactory()
    client.force_login(affiliate.user)
    client.affiliate = affiliate
    return client


def test_changing_the_paypal_email_needs_the_password(affiliate_client, mailoutbox):
    response = affiliate_client.post(
        "/payouts/settings/",
        {"action": "paypal", "paypal_email": "me@paypal.test", "password": "wrong"},
    )

    assert response.status_code == 403
    assert PayoutAccount.objects.get(affiliate=affiliate_client.affiliate).method == "none"


def test_paypal_email_is_confirmed_by_the_emailed_link_and_the_change_is_announced(
    affiliate_client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = affiliate_client.post(
            "/payouts/settings/",
            {"action": "paypal", "paypal_email": "Me@PayPal.test", "password": PASSWORD},
        )

    assert response.status_code == 302
    account = PayoutAccount.objects.get(affiliate=affiliate_client.affiliate)
    assert (account.method, account.paypal_email, account.paypal_confirmed_at) == (
        "paypal",
        "me@paypal.test",
        None,
    )
    to = {m.to[0]: m for m in mailoutbox}
    assert "changed" in to[affiliate_client.affiliate.user.email].subject  # the address on file
    link = next(
        line for line in to["me@paypal.test"].body.split() if "/payouts/paypal/confirm/" in line
    )

    confirmed = affiliate_client.get(link.split("8000", 1)[-1] if "8000" in link else link)

    assert confirmed.status_code == 200
    assert PayoutAccount.objects.get(pk=account.pk).paypal_confirmed_at is not None


def test_payout_details_cannot_be_changed_while_impersonating(affiliate_client):
    session = affiliate_client.session
    session["impersonator_id"] = 1
    session.save()

    response = affiliate_client.post(
        "/payouts/settings/", {"action": "manual", "bank_details": "IBAN X", "password": PASSWORD}
    )

    assert response.status_code == 403
    assert not PayoutAccount.objects.filter(
        affiliate=affiliate_client.affiliate, method="manual"
    ).exists()


def test_stripe_onboarding_redirects_to_the_account_link_and_return_reads_the_account(
    affiliate_client, peer
):
    start = affiliate_client.post("/payouts/settings/", {"action": "stripe", "password": PASSWORD})

    assert start.status_code == 302 and "/_fake/connect/onboard/acct_" in start["Location"]
    account = PayoutAccount.objects.get(affiliate=affiliate_client.affiliate)
    assert account.method == "stripe" and not account.stripe_payouts_enabled

    import requests

    requests.get(
        start["Location"], allow_redirects=False, timeout=5
    )  # the affiliate fills Stripe's form
    back = affiliate_client.get("/payouts/stripe/return/")

    assert back.status_code == 302
    assert PayoutAccount.objects.get(pk=account.pk).stripe_payouts_enabled is True


def test_settings_page_shows_the_hold_and_history(affiliate_client, now):
    PayoutAccountFactory(affiliate=affiliate_client.affiliate, details_changed_at=timezone.now())

    page = affiliate_client.get("/payouts/settings/")

    assert page.status_code == 200
    assert b"held until" in page.content


def _paid_payout(now):
    affiliate = AffiliateFactory()
    PayoutAccountFactory(affiliate=affiliate, method="manual", bank_details="IBAN DE00")
    CommissionEntryFactory(affiliate=affiliate, amount=6000, state=CommissionEntry.State.APPROVED)
    services.run_payouts(now=now)
    return affiliate, Payout.objects.get(affiliate=affiliate)


def test_api_lists_payouts_by_affiliate_and_state(api, now):
    affiliate, payout = _paid_payout(now)
    _paid_payout(now + timedelta(seconds=1))

    response = api.get(f"/api/v1/payouts?affiliate={affiliate.public_id}&state=pending")

    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row == {
        "id": payout.pk,
        "affiliate": affiliate.public_id,
        "amount": 6000,
        "currency": "USD",
        "method": "manual",
        "state": "pending",
        "created_at": row["created_at"],
        "paid_at": None,
    }
    assert api.get("/api/v1/payouts?state=bogus").status_code == 400


def test_api_needs_a_key(anon_api):
    assert anon_api.get("/api/v1/payouts").status_code in (401, 403)


def test_csv_exports_due_manual_payouts(client, now):
    affiliate, payout = _paid_payout(now)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    generic = client.get("/payouts/export/generic.csv")

    assert generic.status_code == 200
    assert (
        f"{payout.pk},{affiliate.username},{affiliate.user.email},manual,60.00,USD"
        in generic.content.decode()
    )


def test_paypal_mass_pay_csv_has_email_amount_currency_id_note(client, now):
    affiliate = AffiliateFactory()
    PayoutAccountFactory(affiliate=affiliate)
    CommissionEntryFactory(affiliate=affiliate, amount=6050, state=CommissionEntry.State.APPROVED)
    services.run_payouts(now=now)
    payout = Payout.objects.get()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    body = client.get("/payouts/export/paypal.csv").content.decode()

    assert body.strip() == f"{affiliate.user.email},60.50,USD,{payout.pk},Affiliate commissions"


def test_support_sees_payouts_in_admin_but_cannot_mark_them_paid(client, now):
    _, payout = _paid_payout(now)
    # the Support group as the migrations create it (affiliates.roles.sync_roles)
    support = UserFactory(is_staff=True)
    support.groups.add(Group.objects.get(name=SUPPORT))
    client.force_login(support)

    listing = client.get("/admin/payouts/payout/")
    action = client.post(
        "/admin/payouts/payout/",
        {"action": "mark_paid", "_selected_action": [payout.pk], "reference": "X"},
    )

    assert listing.status_code == 200
    assert b"mark_paid" not in listing.content
    assert action.status_code in (200, 302, 403)
    assert Payout.objects.get(pk=payout.pk).state == Payout.State.PENDING


def test_admin_marks_payouts_paid_in_bulk_with_a_reference(client, now):
    _, payout = _paid_payout(now)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    client.post(
        "/admin/payouts/payout/",
        {"action": "mark_paid", "_selected_action": [payout.pk], "reference": "BANK-7", "index": 0},
    )

    payout.refresh_from_db()
    assert (payout.state, payout.reference) == (Payout.State.PAID, "BANK-7")


def test_run_payouts_command_accepts_now_and_dry_run():
    affiliate = AffiliateFactory()
    PayoutAccountFactory(affiliate=affiliate)
    CommissionEntryFactory(affiliate=affiliate, amount=6000, state=CommissionEntry.State.APPROVED)
    out = StringIO()

    call_command("run_payouts", "--now", "2026-12-01T13:07:00Z", "--dry-run", stdout=out)
    assert "Dry run" in out.getvalue() and not Payout.objects.exists()

    call_command("run_payouts", "--now", "2026-12-01T13:07:00Z", stdout=out)
    assert Payout.objects.get().created_at.day == 1
