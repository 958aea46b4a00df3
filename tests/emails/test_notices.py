"""Program managers hear of a dispute opened and closed, with its case: payment, customer,
affiliate and the entries it froze or reversed."""

from datetime import UTC, datetime, timedelta

import pytest

from affiliates.roles import PROGRAM_MANAGER
from commissions.models import Dispute
from commissions.services import record_dispute
from config import queue
from emails.notices import notify_dispute
from tests.commissions.conftest import pay
from tests.factories import AffiliateFactory, ReferralFactory, default_plan_with_tiers

NOV = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(queue, "enqueue_on_commit", lambda name, **kw: calls.append((name, kw)))
    return calls


def dispute(status, at):
    return record_dispute(
        provider="api",
        external_id="dp1",
        payment_ref="p1",
        amount=4000,
        currency="USD",
        status=status,
        at=at,
        now=at,
    )


@pytest.mark.django_db(transaction=True)
def test_a_dispute_opened_then_lost_tells_managers_twice_with_its_case(
    staff_client, queued, mailoutbox
):
    staff_client(PROGRAM_MANAGER, "pm@example.com")
    default_plan_with_tiers()
    affiliate = AffiliateFactory(username="nora")
    referral = ReferralFactory(affiliate=affiliate, customer_id="cus_42")
    pay(referral, external_id="p1", amount=4000, paid_at=NOV)  # 2000 pending (50 %)

    opened = dispute("open", NOV + timedelta(days=3))
    dispute("open", NOV + timedelta(days=4))  # a redelivered event: no second notice
    notify_dispute(dispute_id=opened.pk)

    assert [name for name, _kw in queued] == ["emails.notify_dispute"]
    (mail,) = mailoutbox
    assert mail.to == ["pm@example.com"]
    assert mail.subject == "Ambassador: dispute opened on p1 (nora)"
    assert "Customer: cus_42" in mail.body and "Affiliate: nora" in mail.body
    assert "Payment p1: USD 40.00" in mail.body  # 4,000 cents
    assert "nora First payment USD 20.00 — Pending" in mail.body  # frozen, 2,000 cents

    dispute("lost", NOV + timedelta(days=20))
    notify_dispute(dispute_id=opened.pk)

    assert len(queued) == 2
    closed = mailoutbox[-1]
    assert Dispute.objects.get(pk=opened.pk).status == "lost"
    assert closed.subject == "Ambassador: dispute lost on p1 (nora)"
    assert "nora First payment USD 20.00 — Declined" in closed.body  # pending: declined
