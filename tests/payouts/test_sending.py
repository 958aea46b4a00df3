"""Sending through the local PayPal / Stripe Connect peer via the real SDKs: paid exactly
once through crashes, 5xx and timeouts; item-level failures; UNCLAIMED → RETURNED."""

from datetime import timedelta

import pytest

from commissions.models import CommissionEntry
from payouts import selectors, services
from payouts.gateways.base import TransientError
from payouts.gateways.paypal import PayPalClient
from payouts.models import Payout, PayoutAccount, PayPalBatch
from tests.factories import AffiliateFactory, CommissionEntryFactory, PayoutAccountFactory

pytestmark = pytest.mark.django_db
E = CommissionEntry.State
S = Payout.State


def approved(affiliate, *amounts):
    return [
        CommissionEntryFactory(affiliate=affiliate, amount=a, state=E.APPROVED) for a in amounts
    ]


def paypal_affiliate(email=None):
    affiliate = AffiliateFactory()
    PayoutAccountFactory(affiliate=affiliate, paypal_email=email or affiliate.user.email)
    return affiliate


def stripe_affiliate(account_id):
    affiliate = AffiliateFactory()
    PayoutAccountFactory(
        affiliate=affiliate,
        method="stripe",
        stripe_account_id=account_id,
        stripe_payouts_enabled=True,
    )
    return affiliate


def entry_states(entries):
    return [CommissionEntry.objects.get(pk=e.pk).state for e in entries]


def send_all_paypal(now):
    for batch in PayPalBatch.objects.all():
        services.send_paypal_batch(batch_id=batch.pk, now=now)


# --- PayPal ---------------------------------------------------------------------------


def test_paypal_payout_is_sent_in_one_batch_and_paid_after_the_poll(now, peer):
    affiliate = paypal_affiliate()
    entries = approved(affiliate, 4000, 2050)  # 40.00 + 20.50 = 60.50
    services.run_payouts(now=now)

    send_all_paypal(now)
    services.poll_payouts(now=now + timedelta(minutes=15))

    payout = Payout.objects.get()
    assert payout.state == S.PAID and payout.provider_status == "SUCCESS"
    assert entry_states(entries) == [E.PAID, E.PAID]
    batch = peer.server.state.batches[PayPalBatch.objects.get().provider_batch_id]
    item = peer.server.state.items[batch["item_ids"][0]]["payout_item"]
    assert item["amount"] == {"value": "60.50", "currency": "USD"}  # a decimal string
    assert item["sender_item_id"] == str(payout.pk)
    assert peer.calls("POST /v1/payments/payouts") == 1
    assert selectors.ledger_problems() == []


def test_paypal_batch_with_one_failed_item_returns_only_that_affiliates_entries(now, peer):
    good, bad = paypal_affiliate(), paypal_affiliate("nobody@paypal.invalid")
    peer.control("paypal/outcome", receiver="nobody@paypal.invalid", status="FAILED")
    good_entries, bad_entries = approved(good, 6000), approved(bad, 7000)
    services.run_payouts(now=now)

    send_all_paypal(now)
    services.poll_payouts(now=now)

    assert Payout.objects.get(affiliate=good).state == S.PAID
    failed = Payout.objects.get(affiliate=bad)
    assert failed.state == S.FAILED and "RECEIVER_UNREGISTERED" in failed.failure_reason
    assert entry_states(good_entries) == [E.PAID]
    assert entry_states(bad_entries) == [E.APPROVED]
    assert PayPalBatch.objects.get().state == PayPalBatch.State.DONE
    assert selectors.ledger_problems() == []


def test_failed_payouts_entries_go_out_in_the_next_run(now, peer):
    affiliate = paypal_affiliate("nobody@paypal.invalid")
    peer.control("paypal/outcome", receiver="nobody@paypal.invalid", status="FAILED")
    entries = approved(affiliate, 6000)
    services.run_payouts(now=now)
    send_all_paypal(now)
    services.poll_payouts(now=now)
    peer.control("paypal/outcome", receiver="nobody@paypal.invalid", status="SUCCESS")

    services.run_payouts(now=now + timedelta(days=30))
    send_all_paypal(now)
    services.poll_payouts(now=now)

    assert list(Payout.objects.order_by("pk").values_list("state", "amount")) == [
        (S.FAILED, 6000),
        (S.PAID, 6000),
    ]
    assert entry_states(entries) == [E.PAID]
    assert selectors.ledger_problems() == []


def test_unclaimed_stays_open_until_returned_then_fails_and_entries_come_back(now, peer, enqueued):
    affiliate = paypal_affiliate("unclaimed@example.org")
    peer.control("paypal/outcome", receiver="unclaimed@example.org", status="UNCLAIMED")
    entries = approved(affiliate, 6000)
    services.run_payouts(now=now)
    send_all_paypal(now)

    services.poll_payouts(now=now)

    payout = Payout.objects.get()
    assert (payout.state, payout.provider_status) == (S.SENDING, "UNCLAIMED")
    assert entry_states(entries) == [E.IN_PAYOUT]
    assert ("payouts.notify_payout", {"payout_id": payout.pk}) in enqueued  # "claim it" e-mail

    peer.control("paypal/item_status", sender_item_id=payout.pk, status="RETURNED")  # 30 days on
    services.poll_payouts(now=now + timedelta(days=31))

    payout.refresh_from_db()
    assert (payout.state, payout.provider_status) == (S.FAILED, "RETURNED")
    assert "not claimed within 30 days" in payout.failure_reason
    assert entry_states(entries) == [E.APPROVED]


def test_paypal_5xx_then_success_sends_one_batch(now, peer):
    entries = approved(paypal_affiliate(), 6000)
    services.run_payouts(now=now)
    peer.fail_next("/v1/payments/payouts", "5xx")

    with pytest.raises(TransientError):
        send_all_paypal(now)
    assert Payout.objects.get().state == S.UNKNOWN

    send_all_paypal(now)  # the task's retry
    services.poll_payouts(now=now)

    assert Payout.objects.get().state == S.PAID
    assert entry_states(entries) == [E.PAID]
    assert peer.state()["paypal_batches"] == 1


def test_paypal_crash_after_accepting_then_retry_pays_once(now, peer):
    entries = approved(paypal_affiliate(), 6000)
    services.run_payouts(now=now)
    peer.fail_next("/v1/payments/payouts", "crash_after_accept")  # PayPal took it, answer lost

    with pytest.raises(TransientError):
        send_all_paypal(now)

    services.poll_payouts(now=now)  # reconciles: same sender_batch_id → the original batch

    assert Payout.objects.get().state == S.PAID
    assert entry_states(entries) == [E.PAID]
    assert peer.state()["paypal_batches"] == 1
    assert peer.state()["paypal_items"] == 1


def test_paypal_worker_dying_before_our_commit_then_retry_pays_once(now, peer):
    entries = approved(paypal_affiliate(), 6000)
    services.run_payouts(now=now)

    class DiesAfterTheCall(PayPalClient):
        def create_batch(self, **kwargs):
            super().create_batch(**kwargs)  # PayPal accepted…
            raise SystemExit("worker killed")  # …and our process died before recording it

    with pytest.raises(SystemExit):
        services.send_paypal_batch(
            batch_id=PayPalBatch.objects.get().pk, now=now, client=DiesAfterTheCall()
        )
    assert Payout.objects.get().state == S.SENDING  # committed before the call

    send_all_paypal(now)  # the redelivered task
    services.poll_payouts(now=now)

    assert Payout.objects.get().state == S.PAID
    assert entry_states(entries) == [E.PAID]
    assert peer.state()["paypal_items"] == 1


def test_paypal_timeout_leaves_unknown_then_reconciles_once(now, peer):
    approved(paypal_affiliate(), 6000)
    services.run_payouts(now=now)
    peer.fail_next("/v1/payments/payouts", "timeout", seconds=2)

    with pytest.raises(TransientError):
        send_all_paypal(now)
    services.poll_payouts(now=now)

    assert Payout.objects.get().state == S.PAID
    assert peer.state()["paypal_items"] == 1


def test_refund_after_payout_makes_the_next_payout_smaller(now, peer):
    affiliate = paypal_affiliate()
    approved(affiliate, 6000)
    services.run_payouts(now=now)
    send_all_paypal(now)
    services.poll_payouts(now=now)
    # The customer is refunded after the payout: the commissions app adds a clawback.
    CommissionEntryFactory(
        affiliate=affiliate, amount=-1500, kind=CommissionEntry.Kind.CLAWBACK, state=E.APPROVED
    )
    approved(affiliate, 8000)

    services.run_payouts(now=now + timedelta(days=30))

    # 80.00 − 15.00 = 65.00
    assert list(Payout.objects.order_by("pk").values_list("amount", flat=True)) == [6000, 6500]


def test_paypal_webhook_is_verified_stored_once_and_applied(now, peer, client, enqueued):
    approved(paypal_affiliate(), 6000)
    services.run_payouts(now=now)
    send_all_paypal(now)
    payout = Payout.objects.get()
    item = next(iter(peer.server.state.items.values()))
    body, headers = peer.signed_webhook(
        {"id": "WH-1", "event_type": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED", "resource": item}
    )

    first = client.post("/webhooks/paypal/", body, content_type="application/json", **headers)
    again = client.post("/webhooks/paypal/", body, content_type="application/json", **headers)

    assert (first.status_code, again.status_code) == (200, 200)
    events = [kw for name, kw in enqueued if name == "payouts.process_paypal_event"]
    assert len(events) == 1
    services.process_paypal_event(event_pk=events[0]["event_id"], now=now)
    assert Payout.objects.get(pk=payout.pk).state == S.PAID


def test_paypal_webhook_with_a_bad_signature_is_refused(client, peer):
    body, headers = peer.signed_webhook(
        {"id": "WH-2", "event_type": "PAYMENT.PAYOUTS-ITEM.SUCCEEDED"}
    )
    headers["HTTP_PAYPAL_TRANSMISSION_SIG"] = "forged"

    response = client.post("/webhooks/paypal/", body, content_type="application/json", **headers)

    assert response.status_code == 400


# --- Stripe Connect ---------------------------------------------------------------------


def test_stripe_payout_is_one_transfer_with_key_group_and_metadata(now, peer, stripe_account):
    account_id = stripe_account()
    entries = approved(stripe_affiliate(account_id), 5000, 1234)  # 50.00 + 12.34 = 62.34
    services.run_payouts(now=now)
    payout = Payout.objects.get()

    assert services.send_stripe_payout(payout_id=payout.pk, now=now) == S.PAID

    (transfer,) = peer.server.state.transfers.values()
    assert (transfer["amount"], transfer["currency"], transfer["destination"]) == (
        6234,
        "usd",
        account_id,
    )
    assert transfer["transfer_group"] == f"payout-{payout.pk}"
    assert transfer["metadata"]["payout_id"] == str(payout.pk)
    assert payout.idempotency_key in peer.server.state.idempotency
    assert entry_states(entries) == [E.PAID, E.PAID]
    assert selectors.ledger_problems() == []


def test_stripe_5xx_then_success_makes_one_transfer(now, peer, stripe_account):
    approved(stripe_affiliate(stripe_account()), 6000)
    services.run_payouts(now=now)
    payout = Payout.objects.get()
    peer.fail_next("/v1/transfers", "5xx")

    with pytest.raises(TransientError):
        services.send_stripe_payout(payout_id=payout.pk, now=now)
    assert Payout.objects.get().state == S.UNKNOWN

    services.send_stripe_payout(payout_id=payout.pk, now=now)

    assert Payout.objects.get().state == S.PAID
    assert peer.state()["transfers"] == 1


def test_stripe_crash_after_accepting_then_retry_pays_once(now, peer, stripe_account):
    entries = approved(stripe_affiliate(stripe_account()), 6000)
    services.run_payouts(now=now)
    payout = Payout.objects.get()
    peer.fail_next("/v1/transfers", "crash_after_accept")

    with pytest.raises(TransientError):
        services.send_stripe_payout(payout_id=payout.pk, now=now)

    services.poll_payouts(now=now)  # asks Stripe first (transfer_group), finds the transfer

    assert Payout.objects.get().state == S.PAID
    assert entry_states(entries) == [E.PAID]
    assert peer.state()["transfers"] == 1
    assert peer.calls("POST /v1/transfers") == 1  # nothing re-sent


def test_stripe_refusal_fails_the_payout_and_returns_the_entries(now, peer, stripe_account):
    entries = approved(stripe_affiliate(stripe_account()), 6000)
    services.run_payouts(now=now)
    peer.control("stripe/balance", insufficient=True)

    state = services.send_stripe_payout(payout_id=Payout.objects.get().pk, now=now)

    assert state == S.FAILED
    assert "Insufficient funds" in Payout.objects.get().failure_reason
    assert entry_states(entries) == [E.APPROVED]


def test_account_updated_event_keeps_payouts_enabled_current(now):
    from types import SimpleNamespace

    affiliate = AffiliateFactory()
    PayoutAccountFactory(
        affiliate=affiliate,
        method="stripe",
        stripe_account_id="acct_9",
        stripe_payouts_enabled=False,
    )
    newer = SimpleNamespace(
        type="account.updated",
        created=now,
        processed_now=now,
        payload={"data": {"object": {"id": "acct_9", "payouts_enabled": True}}},
    )
    older = SimpleNamespace(
        type="account.updated",
        created=now - timedelta(minutes=1),
        processed_now=now,
        payload={"data": {"object": {"id": "acct_9", "payouts_enabled": False}}},
    )

    services.handle_stripe_event(newer)
    services.handle_stripe_event(older)  # arrives late: ignored

    assert PayoutAccount.objects.get(affiliate=affiliate).stripe_payouts_enabled is True


def test_transfer_reversed_is_recorded_and_entries_stay_paid(now, peer, stripe_account):
    from types import SimpleNamespace

    entries = approved(stripe_affiliate(stripe_account()), 6000)
    services.run_payouts(now=now)
    payout = Payout.objects.get()
    services.send_stripe_payout(payout_id=payout.pk, now=now)
    transfer = dict(
        next(iter(peer.server.state.transfers.values())), amount_reversed=6000, reversed=True
    )

    services.handle_stripe_event(
        SimpleNamespace(
            type="transfer.reversed",
            created=now,
            processed_now=now,
            payload={"data": {"object": transfer}},
        )
    )

    payout.refresh_from_db()
    assert (payout.reversed_amount, payout.provider_status) == (6000, "reversed")
    assert entry_states(entries) == [E.PAID]


# --- Manual ---------------------------------------------------------------------------


def test_manual_payouts_wait_for_the_admin_to_mark_them_paid(now):
    affiliate = AffiliateFactory()
    PayoutAccountFactory(affiliate=affiliate, method="manual", bank_details="IBAN X")
    entries = approved(affiliate, 6000)
    services.run_payouts(now=now)
    payout = Payout.objects.get()
    assert payout.state == S.PENDING

    done = services.mark_paid_manually(
        payout_ids=[payout.pk], reference="BANK-42", actor=None, now=now
    )

    payout.refresh_from_db()
    assert done == 1 and payout.state == S.PAID and payout.reference == "BANK-42"
    assert entry_states(entries) == [E.PAID]


def test_affiliate_is_emailed_when_paid_and_when_failed_with_what_to_fix(
    now, peer, mailoutbox, django_capture_on_commit_callbacks
):
    ok, bad = paypal_affiliate(), paypal_affiliate("nobody@paypal.invalid")
    peer.control("paypal/outcome", receiver="nobody@paypal.invalid", status="FAILED")
    approved(ok, 6000)
    approved(bad, 6000)
    services.run_payouts(now=now)
    send_all_paypal(now)
    services.poll_payouts(now=now)

    with django_capture_on_commit_callbacks(execute=True):  # e-mail is queued on commit
        for payout in Payout.objects.all():
            services.notify_payout(payout_id=payout.pk)

    by_to = {m.to[0]: m for m in mailoutbox}
    assert "was sent" in by_to[ok.user.email].subject
    failed = by_to[bad.user.email]
    assert "could not be sent" in failed.subject and "Check your PayPal e-mail" in failed.body


def test_run_summary_goes_to_program_managers(now, mailoutbox, django_capture_on_commit_callbacks):
    from django.contrib.auth.models import Group

    from affiliates.roles import PROGRAM_MANAGER
    from tests.factories import UserFactory

    manager = UserFactory(is_staff=True)
    manager.groups.add(Group.objects.get_or_create(name=PROGRAM_MANAGER)[0])
    approved(paypal_affiliate(), 6000)
    result = services.run_payouts(now=now)

    with django_capture_on_commit_callbacks(execute=True):  # e-mail is queued on commit
        services.notify_run_summary(run_id=result.run.pk)

    (mail,) = mailoutbox
    assert mail.to == [manager.email] and "Total USD: 60.00" in mail.body


# --- The run's final state ------------------------------------------------------------


def test_a_run_completes_when_its_last_payout_is_paid_or_failed(now, peer):
    from payouts.models import PayoutRun

    good, bad = paypal_affiliate(), paypal_affiliate("nobody@paypal.invalid")
    peer.control("paypal/outcome", receiver="nobody@paypal.invalid", status="FAILED")
    manual = AffiliateFactory()
    PayoutAccountFactory(affiliate=manual, method="manual", bank_details="IBAN DE00")
    approved(good, 6000)
    approved(bad, 7000)
    approved(manual, 8000)
    run = services.run_payouts(now=now).run

    send_all_paypal(now)
    services.poll_payouts(now=now)  # PayPal: one SUCCESS, one FAILED

    run.refresh_from_db()
    assert run.state == PayoutRun.State.APPROVED  # the manual payout is still pending
    assert run.completed_at is None

    later = now + timedelta(days=1)
    services.mark_paid_manually(
        payout_ids=[Payout.objects.get(affiliate=manual).pk],
        reference="BANK-REF-1",
        actor=None,
        now=later,
    )

    run.refresh_from_db()
    assert (run.state, run.completed_at) == (PayoutRun.State.COMPLETED, later)
    assert run.get_state_display() == "Completed (every payout final)"


def test_a_stripe_run_completes_when_the_transfer_is_made(now, peer, stripe_account):
    from payouts.models import PayoutRun

    affiliate = stripe_affiliate(stripe_account())
    approved(affiliate, 6000)
    run = services.run_payouts(now=now).run

    services.send_stripe_payout(payout_id=Payout.objects.get().pk, now=now)

    run.refresh_from_db()
    assert run.state == PayoutRun.State.COMPLETED
