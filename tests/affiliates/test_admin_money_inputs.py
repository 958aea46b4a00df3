"""Money and rates typed into the real admin change forms by a Program manager: "108.00" is
stored as 10800 cents, "12.5 %" as 1250 bp, and a malformed figure is a form error that saves
nothing."""

import pytest

from affiliates.models import Affiliate, Plan, PlanBonus
from tests.admin_forms import change_form_data
from tests.factories import AffiliateFactory, PlanFactory

pytestmark = pytest.mark.django_db


def _plan_page(client, plan):
    url = f"/admin/affiliates/plan/{plan.pk}/change/"
    return url, client.get(url)


def test_a_bonus_typed_as_108_00_is_stored_as_10800_cents(manager_client):
    plan = PlanFactory(name="Agencies", signup_bounty=25)
    PlanBonus.objects.create(plan=plan, product_plan="Business", amount=5000, hold_days=60)
    url, page = _plan_page(manager_client, plan)
    html = page.content.decode()
    assert 'value="50.00"' in html and 'value="0.25"' in html  # shown as money, not 5000

    data = change_form_data(page)
    bonus = next(k for k in data if k.endswith("-amount"))
    data[bonus] = "108.00"
    data["signup_bounty"] = "1,080.50"
    data["first_payment_bp"] = "12.5 %"
    data["recurring_bp"] = "20"
    response = manager_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    plan.refresh_from_db()
    # 108.00 USD = 10800 cents; 1,080.50 = 1080 × 100 + 50; 12.5 % = 1250 bp; 20 % = 2000 bp
    assert plan.bonuses.get().amount == 10800
    assert (plan.signup_bounty, plan.first_payment_bp, plan.recurring_bp) == (108050, 1250, 2000)


@pytest.mark.parametrize(
    ("field", "typed", "error"),
    [
        ("signup_bounty", "abc", "Enter an amount in USD"),
        ("signup_bounty", "12.345", "at most 2 decimals"),
        ("signup_bounty", "-5", "0.00 or more"),
        ("first_payment_bp", "12.345", "at most 2 decimals"),
        ("first_payment_bp", "fifty", "Enter a percentage"),
    ],
)
def test_a_malformed_figure_is_a_form_error_and_saves_nothing(manager_client, field, typed, error):
    plan = PlanFactory(name="Agencies", signup_bounty=25, first_payment_bp=5000)
    PlanBonus.objects.create(plan=plan, product_plan="Business", amount=5000, hold_days=60)
    url, page = _plan_page(manager_client, plan)
    data = change_form_data(page)
    data[field] = typed
    data[next(k for k in data if k.endswith("-amount"))] = "108.00"  # valid, yet not saved

    response = manager_client.post(url, data)

    assert response.status_code == 200
    assert error in str(response.context["adminform"].form.errors[field])
    assert f'value="{typed}"' in response.content.decode()  # shown as typed, to correct
    plan.refresh_from_db()
    assert (plan.signup_bounty, plan.first_payment_bp) == (25, 5000)
    assert plan.bonuses.get().amount == 5000


def test_the_affiliates_threshold_and_override_are_typed_as_money_and_a_percentage(
    manager_client,
):
    alice = AffiliateFactory(payout_threshold=5000, commission_override_bp=None)
    url = f"/admin/affiliates/affiliate/{alice.pk}/change/"
    page = manager_client.get(url)
    data = change_form_data(page)
    assert data["payout_threshold"] == "50.00"

    data.update(payout_threshold="20", commission_override_bp="33.33%")
    response = manager_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    alice = Affiliate.objects.get(pk=alice.pk)
    assert (alice.payout_threshold, alice.commission_override_bp) == (2000, 3333)  # $20, 33.33 %


def test_a_new_tier_is_typed_as_money_and_percentages(manager_client):
    plan = Plan.objects.get(is_default=True)
    url, page = _plan_page(manager_client, plan)
    data = change_form_data(page)
    n = int(data["tiers-TOTAL_FORMS"])
    data["tiers-TOTAL_FORMS"] = str(n + 1)
    data.update(
        {
            f"tiers-{n}-plan": str(plan.pk),
            f"tiers-{n}-min_sales": "2,500.00",
            f"tiers-{n}-first_payment_bp": "75 %",
            f"tiers-{n}-recurring_bp": "32.5 %",
        }
    )

    response = manager_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    tier = plan.tiers.get(min_sales=250_000)  # $2,500.00
    assert (tier.first_payment_bp, tier.recurring_bp) == (7500, 3250)
