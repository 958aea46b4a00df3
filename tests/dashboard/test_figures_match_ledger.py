"""On a seeded program, the dashboards' money equals what the payments and the ledger hold
for the same window, late and refunded payments included (the rollups follow every change).

The sums here are taken straight from the Payment and CommissionEntry rows, by the rule
commissions/rollups.py documents: a payment and its entries count on the day it was paid,
a signup bounty on the signup's day; revenue is net of tax minus refunds at the payment's
rate; commission is every entry not declined, at its recorded rate.
"""

import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command

from affiliates.models import Affiliate, User
from affiliates.roles import PROGRAM_MANAGER
from commissions.models import CommissionEntry, Payment
from commissions.rollups import refresh_daily_money
from commissions.services import approve_due_commissions, record_dispute, record_refund
from config.money import convert
from dashboard.management.commands.seed_demo import DEMO_NOW
from dashboard.templatetags.money import format_money
from tests.commissions.conftest import pay
from tests.factories import ReferralFactory
from tracking.models import Referral

pytestmark = pytest.mark.django_db

USD = settings.PROGRAM_CURRENCY


def _ledger_sums(*, first, last, affiliate_id=None) -> tuple[int, int]:
    """(revenue, commission) in program-currency minor units for UTC days first…last."""
    revenue = 0
    payments = Payment.objects.filter(referral__affiliate__isnull=False).select_related("referral")
    for p in payments:
        if first <= p.paid_at.date() <= last and affiliate_id in (None, p.referral.affiliate_id):
            revenue += convert(p.amount - p.refunded_amount, p.fx_rate)
    commission = 0
    signup_days = dict(Referral.objects.values_list("pk", "created_at"))
    for e in CommissionEntry.objects.exclude(state="declined").select_related("payment"):
        if e.payment_id is not None:
            day = e.payment.paid_at.date()
        elif e.source_type == "signup":
            day = signup_days[int(e.source_id)].date()
        else:
            day = e.created_at.date()
        if first <= day <= last and affiliate_id in (None, e.affiliate_id):
            commission += e.amount if e.currency == USD else convert(e.amount, e.fx_rate)
    return revenue, commission


def _shown(html: str, tile: str) -> str:
    return re.search(rf'<dd id="total-{tile}"[^>]*>([^<]*)</dd>', html).group(1)


def _check_every_window(client, alice) -> dict[int, tuple[int, int]]:
    """Render both dashboards for 7, 30 and 90 days and compare with the ledger."""
    manager, _ = User.objects.get_or_create(email="figures-manager@example.com", is_staff=True)
    manager.groups.add(Group.objects.get(name=PROGRAM_MANAGER))
    seen = {}
    today = DEMO_NOW.date()
    with time_machine.travel(DEMO_NOW, tick=False):
        for days in (7, 30, 90):
            first = today - timedelta(days=days - 1)
            revenue, commission = _ledger_sums(first=first, last=today)
            client.force_login(manager)
            page = client.get("/dashboard/program/", {"days": days})
            totals, html = page.context["totals"], page.content.decode()
            assert (totals["revenue"], totals["commission"]) == (revenue, commission), days
            assert _shown(html, "revenue") == format_money(revenue, USD)
            assert _shown(html, "commission") == format_money(commission, USD)
            for row in page.context["top_affiliates"]:
                assert (row["revenue"], row["commission"]) == _ledger_sums(
                    first=first, last=today, affiliate_id=row["affiliate_id"]
                )

            own_revenue, own_commission = _ledger_sums(
                first=first, last=today, affiliate_id=alice.pk
            )
            client.force_login(alice.user)
            mine = client.get("/dashboard/", {"days": days})
            assert mine.context["totals"]["revenue"] == own_revenue
            assert mine.context["totals"]["commission"] == own_commission
            assert _shown(mine.content.decode(), "commission") == format_money(own_commission, USD)
            seen[days] = (revenue, commission)
        client.force_login(manager)
    return seen


def test_the_seeded_dashboards_equal_the_ledger_before_and_after_late_and_refunded_money(
    client,
):
    # given the demo program, pinned to end at DEMO_NOW (its payments processed as they
    # were paid, approved and paid out along the payout calendar)
    call_command(
        "seed_demo", "--quiet-progress", "--now", DEMO_NOW.isoformat(), stdout=io.StringIO()
    )
    alice = Affiliate.objects.get(username="alice")

    # then its dashboards show the ledger's money, and it is not empty: an ROI figure too
    seen = _check_every_window(client, alice)
    revenue, commission = seen[30]
    assert revenue > 0 and commission > 0
    with time_machine.travel(DEMO_NOW, tick=False):
        html = client.get("/dashboard/program/").content.decode()  # still the manager
    assert re.search(r'<dd id="total-roi"[^>]*>-?\d+\.\d%</dd>', html)

    # when a customer of alice's, signed up 50 days ago, paid $90.00 45 days ago (processed
    # then, approved after the hold, rollups refreshed then) and is refunded in full today
    customer = ReferralFactory(affiliate=alice, created_at=DEMO_NOW - timedelta(days=50))
    paid_at = DEMO_NOW - timedelta(days=45)
    old = pay(customer, external_id="old-90", amount=9000, paid_at=paid_at)
    refresh_daily_money(now=paid_at)
    approve_due_commissions(now=DEMO_NOW, notify=False)
    # and another of her customers' $70.00, paid 10 days ago, reaches us only now
    pay(
        ReferralFactory(affiliate=alice, created_at=DEMO_NOW - timedelta(days=12)),
        external_id="late-70",
        amount=7000,
        paid_at=DEMO_NOW - timedelta(days=10),
        now=DEMO_NOW,
    )
    # and a demo payment older than 10 days is refunded in part ($1.00), and the most
    # recent one is lost to a chargeback
    older = Payment.objects.filter(paid_at__lt=DEMO_NOW - timedelta(days=10)).latest("paid_at")
    recent = Payment.objects.exclude(external_id="late-70").latest("paid_at")
    for n, (payment, amount) in enumerate(((old, old.amount), (older, 100))):
        record_refund(
            provider=payment.provider,
            external_id=f"re-{n}",
            payment_ref=payment.external_id,
            amount=amount,
            currency=payment.currency,
            refunded_at=DEMO_NOW,
            now=DEMO_NOW,
        )
    record_dispute(
        provider=recent.provider,
        external_id="dp-1",
        payment_ref=recent.external_id,
        amount=recent.amount,
        currency=recent.currency,
        status="lost",
        at=DEMO_NOW,
        now=DEMO_NOW,
    )
    # and the every-minute sweeper runs
    refresh_daily_money(now=DEMO_NOW)

    # then both dashboards still equal the ledger in every window, and the figures moved
    after = _check_every_window(client, alice)
    assert after[90] != seen[90] and after[30] != seen[30]
