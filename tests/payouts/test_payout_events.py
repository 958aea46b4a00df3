"""Each payout's append-only history (PayoutEvent): a row for every state change and every
provider call, written with the change, never changed afterwards, shown in admin."""

import pytest
from django.contrib.auth.models import Group

from affiliates.roles import PROGRAM_MANAGER, SUPPORT, sync_roles
from commissions.models import CommissionEntry
from payouts import services
from payouts.gateways.base import TransientError
from payouts.models import Payout, PayoutEvent, PayoutEventImmutableError, PayPalBatch
from tests.factories import (
    AffiliateFactory,
    CommissionEntryFactory,
    PayoutAccountFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
K = PayoutEvent.Kind
S = Payout.State


def due(method="paypal", email=None, **account):
    affiliate = AffiliateFactory()
    PayoutAccountFactory(
        affiliate=affiliate,
        method=method,
        paypal_email=email or affiliate.user.email,
        **account,
    )
    CommissionEntryFactory(affiliate=affiliate, amount=6000, state=CommissionEntry.State.APPROVED)
    return affiliate


def history(payout):
    """Oldest first, as (kind, from, to)."""
    return [
        (e.kind, e.from_state, e.to_state)
        for e in PayoutEvent.objects.filter(payout=payout).order_by("pk")
    ]


def staff(group_name, email):
    sync_roles()
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


def test_a_paypal_send_records_the_call_with_the_sender_batch_id_before_the_answer(now, peer):
    affiliate = due(email="ada@paypal.test")
    services.run_payouts(now=now)
    batch = PayPalBatch.objects.get()

    services.send_paypal_batch(batch_id=batch.pk, now=now)

    payout = Payout.objects.get(affiliate=affiliate)
    assert history(payout) == [
        (K.STATE_CHANGED, "", S.PENDING),
        (K.STATE_CHANGED, S.PENDING, S.SENDING),
        (K.PROVIDER_CALL, "", ""),
        (K.PROVIDER_ANSWER, "", ""),
    ]
    call = payout.events.get(kind=K.PROVIDER_CALL)
    assert call.idempotency_key == batch.sender_batch_id
    assert call.sent["receiver"] == "ada@paypal.test" and call.sent["value"] == "60.00"
    assert call.source == "send_paypal_batch" and call.actor is None
    answer = payout.events.get(kind=K.PROVIDER_ANSWER)
    batch.refresh_from_db()
    assert answer.provider_reference == batch.provider_batch_id != ""


def test_a_failed_item_records_the_error_with_the_state_change(now, peer):
    due(email="nobody@paypal.invalid")
    peer.control("paypal/outcome", receiver="nobody@paypal.invalid", status="FAILED")
    services.run_payouts(now=now)
    services.send_paypal_batch(batch_id=PayPalBatch.objects.get().pk, now=now)

    services.poll_payouts(now=now)

    failed = Payout.objects.get().events.get(to_state=S.FAILED)
    assert failed.from_state == S.SENDING and failed.provider_status == "FAILED"
    assert "RECEIVER_UNREGISTERED" in failed.error
    assert failed.source == "poll_payouts"


def test_a_stripe_refusal_records_the_error(now, peer, stripe_account):
    due(method="stripe", email="", stripe_account_id=stripe_account(), stripe_payouts_enabled=True)
    services.run_payouts(now=now)
    peer.control("stripe/balance", insufficient=True)
    payout = Payout.objects.get()

    services.send_stripe_payout(payout_id=payout.pk, now=now)

    call = payout.events.get(kind=K.PROVIDER_CALL)
    assert call.idempotency_key == payout.idempotency_key
    assert call.sent["create_transfer"]["amount"] == 6000
    failed = payout.events.get(to_state=S.FAILED)
    assert "Insufficient funds" in failed.error


def test_a_retry_adds_rows_and_never_overwrites_the_earlier_ones(now, peer):
    due()
    services.run_payouts(now=now)
    batch = PayPalBatch.objects.get()
    peer.fail_next("/v1/payments/payouts", "5xx")
    with pytest.raises(TransientError):
        services.send_paypal_batch(batch_id=batch.pk, now=now)
    payout = Payout.objects.get()
    before = list(PayoutEvent.objects.filter(payout=payout).order_by("pk").values())

    services.send_paypal_batch(batch_id=batch.pk, now=now)  # the task's retry

    after = list(PayoutEvent.objects.filter(payout=payout).order_by("pk").values())
    assert after[: len(before)] == before
    assert len(after) > len(before)
    unknown = payout.events.get(to_state=S.UNKNOWN)
    assert unknown.error  # the 5xx, as the client reported it
    calls = payout.events.filter(kind=K.PROVIDER_CALL)
    assert calls.count() == 2
    assert set(calls.values_list("idempotency_key", flat=True)) == {batch.sender_batch_id}


def test_a_manual_mark_paid_records_the_staff_member_and_the_reference(now):
    due(method="manual", bank_details="IBAN DE00")
    services.run_payouts(now=now)
    payout = Payout.objects.get()
    manager = UserFactory(is_staff=True)

    services.mark_paid_manually(payout_ids=[payout.pk], reference="BANK-9", actor=manager, now=now)

    paid = payout.events.get(to_state=S.PAID)
    assert (paid.from_state, paid.actor, paid.provider_reference) == (S.PENDING, manager, "BANK-9")
    assert paid.source == "admin: mark paid manually" and paid.created_at == now


def test_the_payout_admin_page_shows_the_history_and_only_managers_see_what_was_sent(
    client, now, peer
):
    due(email="ada@paypal.test")
    services.run_payouts(now=now)
    batch = PayPalBatch.objects.get()
    services.send_paypal_batch(batch_id=batch.pk, now=now)
    payout = Payout.objects.get()
    url = f"/admin/payouts/payout/{payout.pk}/change/"

    client.force_login(staff(PROGRAM_MANAGER, "manager@example.com"))
    manager_page = client.get(url)
    client.force_login(staff(SUPPORT, "support@example.com"))
    support_page = client.get(url)

    assert manager_page.status_code == support_page.status_code == 200
    for page in (manager_page, support_page):
        assert b"Provider called" in page.content and b"send_paypal_batch" in page.content
        assert batch.sender_batch_id.encode() in page.content
        html = page.content.decode()
        # newest first: PayPal's answer above the call above the creation
        assert html.index("Provider answered") < html.index("Provider called")
        assert 'name="events-0-error"' not in html and "events-0-DELETE" not in html
    assert b"ada@paypal.test" in manager_page.content  # in what was sent
    assert b"ada@paypal.test" not in support_page.content


def test_the_history_cannot_be_changed_or_deleted(now):
    due(method="manual", bank_details="IBAN DE00")
    services.run_payouts(now=now)
    event = PayoutEvent.objects.get()

    with pytest.raises(PayoutEventImmutableError):
        PayoutEvent.objects.update(error="rewritten")
    with pytest.raises(PayoutEventImmutableError):
        PayoutEvent.objects.filter(pk=event.pk).delete()
    event.error = "rewritten"
    with pytest.raises(PayoutEventImmutableError):
        event.save()
    with pytest.raises(PayoutEventImmutableError):
        event.delete()
    assert PayoutEvent.objects.get(pk=event.pk).error == ""
