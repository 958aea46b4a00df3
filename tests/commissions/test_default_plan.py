"""A fresh install (migrate, no demo) pays the default plan the data migration
commissions.0004_default_plan writes: Publer's $0.25 signup and tiers, editable in admin,
never an unsaved fallback."""

from datetime import UTC, datetime, timedelta

import pytest

from affiliates.models import Plan
from affiliates.services import make_default_plan
from commissions.ingest import process_pending_events, store_event
from commissions.models import CommissionEntry, Payment, StoredEvent
from commissions.rules import NoDefaultPlan, default_plan
from commissions.services import record_signup_commission
from tests.admin_forms import change_form_data
from tests.commissions.conftest import invoice, pay, stripe_event
from tests.factories import AffiliateFactory, PlanFactory, ReferralFactory

# Not transactional: these tests see the migrated database exactly as `migrate` left it
# (no fixture creates or touches a plan).
pytestmark = pytest.mark.django_db
# manager_client (tests/conftest.py): a Program manager, the group sync_roles creates on migrate.


def test_the_migration_installs_publers_tiered_default_plan():
    plan = Plan.objects.get(is_default=True)

    assert (plan.name, plan.signup_bounty, plan.first_payment_bp, plan.recurring_bp) == (
        "Default",
        25,  # $0.25 per signup
        5000,  # 50 % of the first payment
        2000,  # 20 % of recurring payments
    )
    assert plan.use_tiers and plan.recurring_months is None
    # Inclusive lower bounds in cents: < $500.00 → 50/20, $500.00…$1,000.00 → 60/25,
    # ≥ $1,000.01 → 70/30.
    assert list(plan.tiers.values_list("min_sales", "first_payment_bp", "recurring_bp")) == [
        (0, 5000, 2000),
        (50_000, 6000, 2500),
        (100_001, 7000, 3000),
    ]


def test_a_fresh_install_pays_a_referred_payment_by_the_tiered_default_plan():
    # given an affiliate with no plan of its own (every affiliate a real install creates)
    affiliate = AffiliateFactory(plan=None)
    earlier = ReferralFactory(affiliate=affiliate, created_at=datetime(2026, 10, 1, tzinfo=UTC))
    # who sold $600.00 in October: one customer's first payment, tier 1 (September: $0)
    pay(earlier, external_id="oct", amount=60_000, paid_at=datetime(2026, 10, 15, tzinfo=UTC))
    newer = ReferralFactory(affiliate=affiliate, created_at=datetime(2026, 11, 1, tzinfo=UTC))

    # when a new customer signs up and pays $100.00 on 2 November
    signup = record_signup_commission(referral_id=newer.pk, now=datetime(2026, 11, 1, tzinfo=UTC))
    payment = pay(
        newer, external_id="nov", amount=10_000, paid_at=datetime(2026, 11, 2, tzinfo=UTC)
    )

    # then October's sales 60000 ≥ 50000 put November in tier 2: 60 % × 10000 = 6000 cents,
    # and the signup earns the plan's 25 cents; October's own payment was 50 % × 60000.
    entry = CommissionEntry.objects.get(payment=payment)
    assert (entry.amount, entry.rate_bp, entry.state) == (6000, 6000, "pending")
    assert entry.rule.startswith("Default: tier ≥ 50000 (last month 60000 USD)")
    assert (
        CommissionEntry.objects.get(source_id=str(Payment.objects.get(external_id="oct").pk)).amount
        == 30_000
    )
    assert (signup.amount, signup.rule) == (25, "Default: signup bounty")


def test_the_default_plan_is_visible_and_editable_in_admin_by_a_program_manager(manager_client):
    plan = Plan.objects.get(is_default=True)
    url = f"/admin/affiliates/plan/{plan.pk}/change/"

    page = manager_client.get(url)
    assert page.status_code == 200
    assert "Default" in page.content.decode() and b'name="_save"' in page.content

    # when the manager raises the signup bounty to 30 cents and tier 2's first-payment
    # rate to 65 %, typed as money and a percentage (the inputs show "0.25" and "500.00")
    data = change_form_data(page)
    assert data["signup_bounty"] == "0.25"
    data["signup_bounty"] = "0.30"
    tier_two = next(k for k, v in data.items() if k.endswith("-min_sales") and v == "500.00")
    data[tier_two.replace("min_sales", "first_payment_bp")] = "65 %"
    response = manager_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    plan.refresh_from_db()
    assert plan.signup_bounty == 30 and plan.is_default
    assert plan.tiers.get(min_sales=50_000).first_payment_bp == 6500


def test_the_default_plan_cannot_be_deleted_or_unticked_in_admin(manager_client):
    plan = Plan.objects.get(is_default=True)

    delete = manager_client.post(f"/admin/affiliates/plan/{plan.pk}/delete/", {"post": "yes"})
    page = manager_client.get(f"/admin/affiliates/plan/{plan.pk}/change/")
    data = change_form_data(page)
    data.pop("is_default", None)  # read-only: posting it unticked changes nothing
    manager_client.post(f"/admin/affiliates/plan/{plan.pk}/change/", data)

    assert delete.status_code == 403
    assert Plan.objects.filter(pk=plan.pk, is_default=True).exists()


def test_make_default_moves_the_flag_in_one_step_and_frees_the_old_plan(manager_client):
    old = Plan.objects.get(is_default=True)
    flat = PlanFactory(name="Basic 30%", first_payment_bp=3000, recurring_bp=3000, use_tiers=False)

    response = manager_client.post(
        "/admin/affiliates/plan/",
        {"action": "make_default", "_selected_action": [str(flat.pk)]},
    )

    assert response.status_code == 302
    assert list(Plan.objects.filter(is_default=True)) == [flat]
    assert default_plan() == flat
    # the old default is an ordinary plan now, which may be deleted
    assert manager_client.get(f"/admin/affiliates/plan/{old.pk}/delete/").status_code == 200


def test_without_a_default_plan_a_payment_waits_with_a_clear_error_and_no_guess(now):
    # given the default plan removed behind the admin's back (shell, SQL)
    plan = Plan.objects.get(is_default=True)
    Plan.objects.filter(pk=plan.pk).update(is_default=False)
    referral = ReferralFactory(affiliate=AffiliateFactory(plan=None), stripe_customer_id="cus_wait")

    # when Stripe reports a $100.00 invoice paid and stage two runs
    paid = int(now.timestamp())
    body = stripe_event(
        "evt_wait",
        "invoice.paid",
        invoice("in_wait", customer="cus_wait", amount_paid=10_000, paid_at=paid),
        created=paid,
    )
    store_event(provider="stripe", event=body, via="webhook", now=now)
    process_pending_events(now=now)

    # then nothing is computed on a guessed plan: the event waits with the reason
    event = StoredEvent.objects.get(event_id="evt_wait")
    assert event.processed_at is None and "No commission plan is marked default" in event.error
    assert not Payment.objects.exists() and not CommissionEntry.objects.exists()
    with pytest.raises(NoDefaultPlan):
        record_signup_commission(referral_id=referral.pk, now=now)

    # and once an admin marks a plan default, a later sweep pays by it: 50 % × 10000
    make_default_plan(plan=plan, actor=None, now=now)
    process_pending_events(now=now + timedelta(days=1))
    assert CommissionEntry.objects.get(payment__external_id="in_wait").amount == 5000
