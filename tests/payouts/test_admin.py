"""Payout accounts in admin, with the roles as deployed (the groups sync_roles creates):
nobody edits a destination in the change form; a Program manager changes it through the
services (hold, audit, e-mail to the affiliate); Support cannot. Runs show money."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from affiliates.models import AuditLog
from affiliates.roles import PROGRAM_MANAGER, SUPPORT, sync_roles
from config.errors import ServiceError
from payouts import selectors, services
from payouts.models import PayoutAccount, PayoutRun
from tests.factories import (
    AffiliateFactory,
    CommissionEntryFactory,
    PayoutAccountFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def staff(group_name: str, email: str):
    sync_roles()
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def manager():
    return staff(PROGRAM_MANAGER, "manager@example.com")


@pytest.fixture
def support():
    return staff(SUPPORT, "support@example.com")


@pytest.fixture
def account():
    affiliate = AffiliateFactory()
    return PayoutAccountFactory(affiliate=affiliate, paypal_email="owner@paypal.test")


def change_url(account):
    return f"/admin/payouts/payoutaccount/{account.pk}/change/"


def destination_url(account):
    return f"/admin/payouts/payoutaccount/{account.pk}/change-destination/"


def test_a_manager_cannot_edit_the_destination_in_the_change_form(client, manager, account):
    client.force_login(manager)
    before = PayoutAccount.objects.values().get(pk=account.pk)

    page = client.get(change_url(account))
    response = client.post(
        change_url(account),
        {
            "method": "paypal",
            "paypal_email": "manager@paypal.test",
            "paypal_confirmed_at_0": "2026-01-01",
            "paypal_confirmed_at_1": "00:00:00",
            "bank_details": "IBAN MANAGER",
            "tax_id": "X",
            "on_hold": "",
            "stripe_payouts_enabled": "on",
        },
    )

    assert page.status_code == 200
    assert b'name="paypal_email"' not in page.content  # shown, not an input
    assert b"Change payout destination" in page.content
    assert response.status_code in (200, 302)
    assert PayoutAccount.objects.values().get(pk=account.pk) == before
    assert not AuditLog.objects.filter(action="payout_details_changed").exists()


def test_nobody_adds_or_deletes_payout_accounts_in_admin(client, manager, account):
    client.force_login(manager)

    assert client.get("/admin/payouts/payoutaccount/add/").status_code == 403
    assert client.get(f"/admin/payouts/payoutaccount/{account.pk}/delete/").status_code == 403


def test_the_managers_action_changes_the_destination_with_hold_audit_and_email(
    client, manager, account, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    affiliate = account.affiliate
    CommissionEntryFactory(affiliate=affiliate, amount=6000, state="approved")  # $60.00 due
    action = client.post(
        "/admin/payouts/payoutaccount/",
        {"action": "change_destination_action", "_selected_action": [account.pk]},
    )
    assert action.status_code == 302 and action["Location"] == destination_url(account)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            destination_url(account),
            {
                "what": "paypal",
                "paypal_email": "New@PayPal.test",
                "reason": "Affiliate lost access to the old mailbox; asked by phone",
            },
        )

    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.method, account.paypal_email, account.paypal_confirmed_at) == (
        "paypal",
        "new@paypal.test",
        None,  # the new inbox must still confirm
    )
    changed_at = account.details_changed_at
    assert changed_at is not None and timezone.now() - changed_at < timedelta(minutes=1)
    log = AuditLog.objects.get(action="payout_details_changed")
    assert (log.actor, log.affiliate) == (manager, affiliate)
    assert log.details["by"] == "staff" and "lost access" in log.details["reason"]
    to = {m.to[0]: m for m in mailoutbox}
    warning = to[affiliate.user.email]  # the affiliate, at the address on file
    assert "changed" in warning.subject and "lost access" in warning.body
    assert "/payouts/paypal/confirm/" in to["new@paypal.test"].body
    # and the next run pays nobody: the 48 h hold started
    reason = selectors.hold_reason(affiliate=affiliate, account=account, now=changed_at)
    assert "held until" in reason


def test_the_managers_change_needs_a_reason(client, manager, account):
    client.force_login(manager)

    response = client.post(
        destination_url(account), {"what": "manual", "bank_details": "IBAN X", "reason": ""}
    )

    assert response.status_code == 400
    account.refresh_from_db()
    assert account.method == "paypal" and account.bank_details == ""


def test_a_crlf_in_the_managers_paypal_email_is_a_form_error(client, manager, account):
    client.force_login(manager)

    response = client.post(
        destination_url(account),
        {"what": "paypal", "paypal_email": "a@paypal.test\r\nBcc: x@y.test", "reason": "typo"},
    )

    assert response.status_code == 400
    assert PayoutAccount.objects.get(pk=account.pk).paypal_email == "owner@paypal.test"


def test_support_cannot_use_the_action_or_the_page(client, support, account):
    client.force_login(support)

    listing = client.post(
        "/admin/payouts/payoutaccount/",
        {"action": "change_destination_action", "_selected_action": [account.pk]},
    )
    page = client.get(destination_url(account))
    post = client.post(
        destination_url(account),
        {"what": "paypal", "paypal_email": "support@paypal.test", "reason": "x"},
    )

    assert (listing.status_code, page.status_code, post.status_code) == (403, 403, 403)
    assert PayoutAccount.objects.get(pk=account.pk).paypal_email == "owner@paypal.test"


def test_the_service_refuses_a_staff_member_without_the_permission(support, account, now):
    with pytest.raises(ServiceError) as refused:
        services.set_manual_details(
            affiliate=account.affiliate, bank_details="IBAN X", staff=support, reason="x", now=now
        )

    assert refused.value.status == 403
    assert PayoutAccount.objects.get(pk=account.pk).method == "paypal"


def test_admin_shows_run_totals_as_money_per_currency(client, manager, now):
    client.force_login(manager)
    run = PayoutRun.objects.create(
        started_at=now,
        state=PayoutRun.State.APPROVED,
        payout_count=3,
        totals={"USD": 19065, "EUR": 5000, "JPY": 1200},  # $190.65, €50.00, ¥1,200
    )

    listing = client.get("/admin/payouts/payoutrun/")
    detail = client.get(f"/admin/payouts/payoutrun/{run.pk}/change/")

    for page in (listing, detail):
        assert page.status_code == 200
        assert b"EUR 50.00, JPY 1,200, USD 190.65" in page.content
        assert b"19065" not in page.content
