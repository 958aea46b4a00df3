"""Each event is written by the service that makes the change, in its transaction, once per
transition however often the service runs; payloads carry ids and minor units."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from affiliates.services import approve_affiliate, create_user, submit_application
from commissions.models import CommissionEntry
from commissions.services import approve_due_commissions, insert_entries
from config.errors import Conflict
from payouts.models import Payout
from payouts.services import run_payouts, transitions
from payouts.services.history import Cause
from tests.factories import (
    FIXED_NOW,
    AffiliateFactory,
    CommissionEntryFactory,
    PayoutAccountFactory,
)
from tests.webhooks.conftest import make_endpoint
from tracking.services import attribute_signup
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db
E = CommissionEntry.State


@pytest.fixture
def endpoint(db):
    return make_endpoint("http://127.0.0.1:9/hook", now=timezone.now())[0]


def sent(event_type: str) -> list[dict]:
    rows = Delivery.objects.filter(event_type=event_type).order_by("pk")
    return [json.loads(d.body)["data"] for d in rows]


def test_applying_then_approving_twice_sends_one_applied_and_one_approved(endpoint, now):
    user = create_user(email="ann@example.org", password="x-long-password-1", now=now)
    affiliate = submit_application(user=user, username="ann", now=now, accepted_terms=True)

    approve_affiliate(affiliate=affiliate, now=now)
    with pytest.raises(Conflict):
        approve_affiliate(affiliate=affiliate, now=now)

    assert [d["affiliate"]["username"] for d in sent("affiliate.applied")] == ["ann"]
    approved = sent("affiliate.approved")
    assert len(approved) == 1 and approved[0]["affiliate"]["status"] == "approved"
    assert approved[0]["affiliate"]["email"] == "ann@example.org"


def test_a_rolled_back_approval_leaves_no_event(endpoint, now):
    affiliate = AffiliateFactory(status="applied")

    with pytest.raises(RuntimeError), transaction.atomic():
        approve_affiliate(affiliate=affiliate, now=now)
        raise RuntimeError("the caller fails after the service")

    assert sent("affiliate.approved") == []


def test_a_referral_sends_referral_created_once_and_an_unattributed_signup_nothing(endpoint, now):
    alice = AffiliateFactory(username="alice")

    first = attribute_signup(customer_id="c1", email="c@c.test", referral=alice.public_id, now=now)
    attribute_signup(customer_id="c1", email="c@c.test", referral=alice.public_id, now=now)
    attribute_signup(customer_id="c2", email="d@d.test", now=now)

    assert sent("referral.created") == [
        {
            "referral": {
                "id": first.pk,
                "customer_id": "c1",
                "affiliate_id": alice.pk,
                "employee_id": None,
                "source": "cookie",
                "plan": "",
                "created_at": now.isoformat(),
            }
        }
    ]


def _entry(affiliate, source_id, amount, now):
    return CommissionEntry(
        kind=CommissionEntry.Kind.RECURRING,
        affiliate=affiliate,
        amount=amount,
        currency="EUR",
        source_type=CommissionEntry.SourceType.ADMIN,
        source_id=source_id,
        rule="test",
        approve_after=now,
        created_at=now,
    )


def test_each_entry_written_sends_commission_created_once(endpoint, now):
    bob = AffiliateFactory()
    entries = [_entry(bob, "adj-1", 1250, now), _entry(bob, "adj-2", -300, now)]

    insert_entries(entries=entries)
    insert_entries(entries=[_entry(bob, "adj-1", 1250, now)])  # offered again: ignored

    created = sorted(
        (d["commission"]["source_id"], d["commission"]["amount"])
        for d in sent("commission.created")
    )
    assert created == [("adj-1", 1250), ("adj-2", -300)]
    assert {d["commission"]["currency"] for d in sent("commission.created")} == {"EUR"}


def test_the_approval_job_sends_one_summary_per_affiliate_per_run(endpoint):
    carol, dave = AffiliateFactory(), AffiliateFactory()
    for amount in (800, 800, 1500):
        CommissionEntryFactory(affiliate=carol, amount=amount)
    CommissionEntryFactory(affiliate=carol, amount=999, currency="EUR")
    CommissionEntryFactory(affiliate=dave, amount=4200)
    later = FIXED_NOW + timedelta(days=1)

    approve_due_commissions(now=later)
    approve_due_commissions(now=later)  # nothing left to approve: nothing more sent

    # carol: USD 800 + 800 + 1500 = 3100 over 3 entries, EUR 999 over 1; dave: USD 4200.
    by_affiliate = {d["affiliate_id"]: d for d in sent("commission.approved")}
    assert by_affiliate == {
        carol.pk: {
            "affiliate_id": carol.pk,
            "count": 4,
            "totals": [
                {"currency": "EUR", "count": 1, "amount": 999},
                {"currency": "USD", "count": 3, "amount": 3100},
            ],
            "approved_at": later.isoformat(),
        },
        dave.pk: {
            "affiliate_id": dave.pk,
            "count": 1,
            "totals": [{"currency": "USD", "count": 1, "amount": 4200}],
            "approved_at": later.isoformat(),
        },
    }


def _manual_payout(now, amount):
    affiliate = AffiliateFactory()
    PayoutAccountFactory(affiliate=affiliate, method="manual", bank_details="IBAN DE00")
    CommissionEntryFactory(affiliate=affiliate, amount=amount, state=E.APPROVED)
    return affiliate


def test_a_payout_paid_or_failed_sends_its_event_once(endpoint, now):
    paid_to, failed_to = _manual_payout(now, 6000), _manual_payout(now, 7000)
    run_payouts(now=now)
    paid = Payout.objects.get(affiliate=paid_to)
    failed = Payout.objects.get(affiliate=failed_to)
    by_test = Cause("test")

    for _ in range(2):
        transitions.move_payouts(ids=[paid.pk], to=Payout.State.PAID, now=now, cause=by_test)
        transitions.move_payouts(ids=[failed.pk], to=Payout.State.FAILED, now=now, cause=by_test)

    [p] = sent("payout.paid")
    [f] = sent("payout.failed")
    assert (p["payout"]["id"], p["payout"]["amount"], p["payout"]["currency"]) == (
        paid.pk,
        6000,
        "USD",
    )
    assert (f["payout"]["id"], f["payout"]["amount"]) == (failed.pk, 7000)
    assert "destination" not in p["payout"]


def test_an_endpoint_gets_only_the_events_it_subscribed_to(now):
    make_endpoint("http://127.0.0.1:9/only-referrals", events=["referral.created"], now=now)
    alice = AffiliateFactory(username="alice")

    attribute_signup(customer_id="c1", email="c@c.test", referral=alice.public_id, now=now)
    approve_affiliate(affiliate=AffiliateFactory(status="applied"), now=now)

    assert list(Delivery.objects.values_list("event_type", flat=True)) == ["referral.created"]
