"""PayPal's duplicate sender_batch_id, as PayPal documents it: the local peer rejects a
repeat with HTTP 400 USER_BUSINESS_ERROR and a HATEOAS link to the original; our client
reads the original ("already sent") and never fails the payouts."""

import pytest
import requests

from commissions.models import CommissionEntry
from payouts import services
from payouts.gateways.base import TransientError
from payouts.models import Payout, PayPalBatch
from tests.factories import AffiliateFactory, CommissionEntryFactory, PayoutAccountFactory

pytestmark = pytest.mark.django_db
E = CommissionEntry.State
S = Payout.State


def paypal_affiliate():
    affiliate = AffiliateFactory()
    PayoutAccountFactory(affiliate=affiliate, paypal_email=affiliate.user.email)
    return affiliate


def approved(affiliate, *amounts):
    return [
        CommissionEntryFactory(affiliate=affiliate, amount=a, state=E.APPROVED) for a in amounts
    ]


def entry_states(entries):
    return [CommissionEntry.objects.get(pk=e.pk).state for e in entries]


def _post_batch(peer, sender_batch_id):
    token = requests.post(f"{peer.base_url}/v1/oauth2/token", timeout=5).json()["access_token"]
    return requests.post(
        f"{peer.base_url}/v1/payments/payouts",
        json={
            "sender_batch_header": {"sender_batch_id": sender_batch_id},
            "items": [
                {
                    "recipient_type": "EMAIL",
                    "amount": {"value": "60.00", "currency": "USD"},
                    "receiver": "a@example.org",
                    "sender_item_id": "1",
                }
            ],
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


def test_the_peer_rejects_a_repeated_sender_batch_id_with_a_link_to_the_original(peer):
    first = _post_batch(peer, "run_x-USD-1")

    again = _post_batch(peer, "run_x-USD-1")

    assert first.status_code == 201
    assert again.status_code == 400
    error = again.json()
    assert error["name"] == "USER_BUSINESS_ERROR"
    assert error["details"][0]["field"] == "SENDER_BATCH_ID"
    original = first.json()["batch_header"]["payout_batch_id"]
    (link,) = error["links"]
    assert link["href"].endswith(f"/v1/payments/payouts/{original}")
    assert requests.get(link["href"], timeout=5).json()["batch_header"]["payout_batch_id"] == (
        original
    )
    assert peer.state()["paypal_batches"] == 1


def test_a_duplicate_rejection_is_reconciled_through_the_link_and_paid_once(now, peer):
    entries = approved(paypal_affiliate(), 4000, 2000)  # 40.00 + 20.00 = one 60.00 payout
    services.run_payouts(now=now)
    batch = PayPalBatch.objects.get()
    peer.fail_next("/v1/payments/payouts", "crash_after_accept")  # PayPal took it, answer lost
    with pytest.raises(TransientError):
        services.send_paypal_batch(batch_id=batch.pk, now=now)
    assert Payout.objects.get().state == S.UNKNOWN

    outcome = services.send_paypal_batch(batch_id=batch.pk, now=now)  # the retry: rejected

    batch.refresh_from_db()
    assert outcome == PayPalBatch.State.SENT
    assert batch.response["duplicate_rejection"]["name"] == "USER_BUSINESS_ERROR"
    assert batch.provider_batch_id  # learnt from the link
    payout = Payout.objects.get()
    assert (payout.state, payout.amount) == (S.PAID, 6000)
    assert entry_states(entries) == [E.PAID, E.PAID]
    assert peer.state()["paypal_items"] == 1  # one item of 60.00 at PayPal: paid once
    assert peer.calls("POST /v1/payments/payouts") == 2


def test_a_duplicate_whose_original_cannot_be_found_leaves_the_payout_unknown_not_failed(now, peer):
    entries = approved(paypal_affiliate(), 6000)
    services.run_payouts(now=now)
    batch = PayPalBatch.objects.get()
    peer.fail_next("/v1/payments/payouts", "crash_after_accept")
    with pytest.raises(TransientError):
        services.send_paypal_batch(batch_id=batch.pk, now=now)
    peer.control("paypal/lose_batch", sender_batch_id=batch.sender_batch_id)

    outcome = services.send_paypal_batch(batch_id=batch.pk, now=now)
    services.poll_payouts(now=now)  # the sweeper neither re-sends nor fails it

    batch.refresh_from_db()
    payout = Payout.objects.get()
    assert outcome == batch.state == PayPalBatch.State.UNRESOLVED
    assert payout.state == S.UNKNOWN and payout.failed_at is None
    assert "already sent" in payout.failure_reason
    assert entry_states(entries) == [E.IN_PAYOUT]  # not back to approved: never paid twice
    assert peer.calls("POST /v1/payments/payouts") == 2

    rerun = services.run_payouts(now=now)  # the next run must not pay these entries

    assert rerun.payouts == 0


def test_a_person_resolves_an_unknown_payout_by_marking_it_paid(now, peer):
    entries = approved(paypal_affiliate(), 6000)
    services.run_payouts(now=now)
    batch = PayPalBatch.objects.get()
    peer.fail_next("/v1/payments/payouts", "crash_after_accept")
    with pytest.raises(TransientError):
        services.send_paypal_batch(batch_id=batch.pk, now=now)
    peer.control("paypal/lose_batch", sender_batch_id=batch.sender_batch_id)
    services.send_paypal_batch(batch_id=batch.pk, now=now)

    done = services.mark_paid_manually(
        payout_ids=[Payout.objects.get().pk], reference="PayPal 5UXD2E8A", actor=None, now=now
    )

    assert done == 1
    assert Payout.objects.get().state == S.PAID
    assert entry_states(entries) == [E.PAID]
    assert PayPalBatch.objects.get().state == PayPalBatch.State.DONE


def test_a_person_fails_an_unknown_payout_not_paid_at_paypal_and_the_next_run_pays_it(now, peer):
    entries = approved(paypal_affiliate(), 6000)
    services.run_payouts(now=now)
    batch = PayPalBatch.objects.get()
    peer.fail_next("/v1/payments/payouts", "crash_after_accept")
    with pytest.raises(TransientError):
        services.send_paypal_batch(batch_id=batch.pk, now=now)
    peer.control("paypal/lose_batch", sender_batch_id=batch.sender_batch_id)
    services.send_paypal_batch(batch_id=batch.pk, now=now)
    payout = Payout.objects.get()

    done = services.fail_unknown_payouts(
        payout_ids=[payout.pk], reason="no such batch in PayPal's activity", actor=None, now=now
    )
    rerun = services.run_payouts(now=now)

    assert done == 1
    payout.refresh_from_db()
    assert payout.state == S.FAILED and "checked by hand" in payout.failure_reason
    assert PayPalBatch.objects.get(pk=batch.pk).state == PayPalBatch.State.DONE
    assert rerun.payouts == 1  # the 60.00 goes out again, under a new sender_batch_id
    assert entry_states(entries) == [E.IN_PAYOUT]
