"""A Support user (the read-only group the migrations create) reads money and rates on the
admin's change pages as money and percentages, not as the stored integers (issue 11: money
reads as money everywhere, "USD 108.00"; rates as "15 %"); a Program manager still edits
them as amounts and percentages.

Figures (USD, 2 decimals): 10800 minor units = USD 108.00; 1500 basis points = 15 %;
1250 bp = 12.5 %; 50000 = USD 500.00; 2000 bp = 20 %; 1750 bp = 17.5 %; 2500 = USD 25.00;
72000 = USD 720.00.
"""

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from affiliates.models import PlanBonus, PlanTier
from affiliates.roles import PROGRAM_MANAGER, SUPPORT
from tests.factories import AffiliateFactory, CommissionEntryFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-1234-word"  # tests.factories.UserFactory's


def _log_in(client, group: str, email: str):
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    # The admin's own login form, as a person signs in (no force_login).
    response = client.post(
        reverse("admin:login"),
        {"username": email, "password": PASSWORD, "next": reverse("admin:index")},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


@pytest.fixture
def support(client):
    return _log_in(client, SUPPORT, "support@example.com")


@pytest.fixture
def plan():
    plan = PlanFactory(
        name="Readonly", signup_bounty=10800, first_payment_bp=1500, recurring_bp=1250
    )
    PlanTier.objects.create(plan=plan, min_sales=50000, first_payment_bp=2000, recurring_bp=1750)
    PlanBonus.objects.create(plan=plan, product_plan="pro", amount=2500)
    return plan


def _readonly_cells(html: str) -> list[str]:
    """The text of every read-only value on the page (Django's <div class="readonly"> and
    the inlines' <td class="field-…"><p>…</p>)."""
    cells = re.findall(r'<div class="readonly">(.*?)</div>', html, flags=re.S)
    cells += re.findall(r'<td class="field-[^"]*">\s*<p>(.*?)</p>', html, flags=re.S)
    return [c.strip() for c in cells]


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_support_reads_a_plans_money_and_rates_as_money_and_percentages(support, plan):
    html = _page(support, reverse("admin:affiliates_plan_change", args=[plan.pk]))
    cells = _readonly_cells(html)

    assert "USD 108.00" in cells  # signup bounty, 10800
    assert "15 %" in cells and "12.5 %" in cells  # first payment 1500 bp, recurring 1250 bp
    assert "USD 500.00" in cells and "20 %" in cells and "17.5 %" in cells  # the tier
    assert "USD 25.00" in cells  # the bonus, 2500
    for raw in ("10800", "1500", "1250", "50000", "2000", "1750", "2500"):
        assert raw not in cells, raw
    assert ">10800<" not in html and ">1500<" not in html
    # The labels are the fields' names, not the display functions'.
    assert "<label>Signup bounty:</label>" in html and "Shown signup bounty" not in html


def test_support_reads_an_affiliates_threshold_and_override_as_money_and_a_percentage(support):
    affiliate = AffiliateFactory(payout_threshold=10800, commission_override_bp=1500)

    html = _page(support, reverse("admin:affiliates_affiliate_change", args=[affiliate.pk]))
    cells = _readonly_cells(html)

    assert "USD 108.00" in cells and "15 %" in cells
    assert "10800" not in cells and "1500" not in cells
    assert ">10800<" not in html and ">1500<" not in html


def test_support_reads_a_ledger_entrys_amount_rate_and_base_as_money(support):
    entry = CommissionEntryFactory(amount=10800, currency="USD", rate_bp=1500, base_amount=72000)

    html = _page(support, reverse("admin:commissions_commissionentry_change", args=[entry.pk]))
    cells = _readonly_cells(html)

    assert "USD 108.00" in cells and "15 %" in cells and "USD 720.00" in cells
    assert "10800" not in cells and "1500" not in cells and "72000" not in cells


def test_a_program_manager_still_edits_the_figures_as_amounts_and_percentages(client, plan):
    _log_in(client, PROGRAM_MANAGER, "manager@example.com")

    html = _page(client, reverse("admin:affiliates_plan_change", args=[plan.pk]))

    assert 'name="signup_bounty"' in html and 'value="108.00"' in html
    assert 'name="first_payment_bp"' in html and 'value="15 %"' in html
    assert 'value="500.00"' in html  # the tier's min_sales, editable
    assert "shown_" not in html
