"""`/` is the program's public page: what the default plan pays, the cookie window, the hold
and the payout terms, read from the plan rows and the settings — and a way in."""

import re

import pytest
from django.test import override_settings

from affiliates.models import Plan, PlanTier
from dashboard.selectors.public import payout_days, program_terms, tier_bands
from tests.factories import AffiliateFactory, default_plan_with_tiers

pytestmark = pytest.mark.django_db


def _text(html: str, element_id: str) -> str:
    """The visible text of the element with this id (no nested element of its own kind),
    whitespace folded."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    block = match.group(2)
    return " ".join(re.sub(r"<[^>]+>", " ", block).split())


def test_the_public_page_shows_what_the_installed_default_plan_pays(client):
    # given the plan a fresh install has (commissions.0004_default_plan) plus the demo's
    # product-plan bonuses: $0.25 per signup, 50 % / 20 %, tiers 0 / 50000 / 100001 cents
    default_plan_with_tiers()

    page = client.get("/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "USD 0.25" in _text(html, "pays-signup")
    assert "50.0%" in _text(html, "pays-first")  # 5000 bp
    assert "20.0%" in _text(html, "pays-recurring") and "as long as" in html
    # tiers: up to 49999 cents = USD 499.99; 50000…100000 = USD 500.00 to USD 1,000.00;
    # from 100001 = USD 1,000.01
    tiers = html[html.index('id="pays-tiers"') :]
    assert "Up to USD 499.99" in tiers
    assert "USD 500.00 to USD 1,000.00" in tiers and "60.0%" in tiers and "25.0%" in tiers
    assert "USD 1,000.01 or more" in tiers and "70.0%" in tiers and "30.0%" in tiers
    # Kinsta's bonuses: 5000 / 10000 / 15000 / 50000 cents, held 60 days
    bonuses = html[html.index('id="pays-bonuses"') :]
    for amount in ("USD 50.00", "USD 100.00", "USD 150.00", "USD 500.00"):
        assert amount in bonuses
    assert "60 days" in bonuses


@override_settings(
    REFERRAL_COOKIE_DAYS=45,
    ATTRIBUTION="last_click",
    COMMISSION_HOLD_DAYS=14,
    PAYPAL_CLIENT_ID="id",
    PAYPAL_CLIENT_SECRET="secret",
    STRIPE_CONNECT_SECRET_KEY="",
)
def test_the_cookie_window_hold_and_payout_terms_follow_the_settings(client):
    html = client.get("/").content.decode()

    cookie = _text(html, "terms-cookie")
    assert "45 days" in cookie and "the last click counts" in cookie
    payout = _text(html, "terms-payout")
    assert "held for 14 days" in payout
    # the threshold is the Affiliate.payout_threshold default: 5000 cents
    assert "reaches USD 50.00" in payout
    # the payout runs of config/celery.py: the 1st for everyone, the 15th for two-weekly
    assert "day 1 of every month" in payout and "day 15 of the month" in payout
    assert _text(html, "payout-methods") == "Paid by: PayPal, Bank transfer."


def test_a_visitor_is_offered_the_application_and_the_login(client):
    html = client.get("/").content.decode()

    assert re.search(r'<a class="button" href="/accounts/signup/" id="apply">', html)
    assert 'href="/accounts/login/" id="login-link"' in html
    assert '<html lang="en">' in html


def test_a_logged_in_affiliate_is_sent_to_its_dashboard_instead(client):
    client.force_login(AffiliateFactory().user)

    html = client.get("/").content.decode()

    assert 'id="go-dashboard"' in html and 'id="apply"' not in html


def test_a_plan_edited_by_an_admin_is_what_the_page_says(client):
    # given an admin turned the tiers off, set a $1.00 bounty, 35 % / 15 % for 12 months
    plan = Plan.objects.get(is_default=True)
    Plan.objects.filter(pk=plan.pk).update(
        use_tiers=False,
        signup_bounty=100,
        first_payment_bp=3500,
        recurring_bp=1500,
        recurring_months=12,
    )

    html = client.get("/").content.decode()

    assert "USD 1.00" in _text(html, "pays-signup")
    assert "35.0%" in _text(html, "pays-first")
    recurring = _text(html, "pays-recurring")
    assert "15.0%" in recurring and "for 12 months" in recurring
    assert 'id="pays-tiers"' not in html


def test_without_a_default_plan_the_page_still_renders_and_says_so(client):
    Plan.objects.filter(is_default=True).update(is_default=False)

    page = client.get("/")

    assert page.status_code == 200
    assert 'id="no-plan"' in page.content.decode()
    assert program_terms().plan_name is None


def test_the_page_costs_the_same_queries_with_3_or_20_tiers(client, django_assert_num_queries):
    plan = Plan.objects.get(is_default=True)
    with django_assert_num_queries(3):  # the plan, its tiers, its bonuses
        client.get("/")

    PlanTier.objects.bulk_create(
        PlanTier(plan=plan, min_sales=200_000 + n, first_payment_bp=7000, recurring_bp=3000)
        for n in range(17)
    )
    with django_assert_num_queries(3):
        client.get("/")


def test_tier_bands_end_one_minor_unit_below_the_next_tier():
    bands = tier_bands([(100_001, 7000, 3000), (0, 5000, 2000), (50_000, 6000, 2500)])

    assert [(b.low, b.high) for b in bands] == [(0, 49_999), (50_000, 100_000), (100_001, None)]


def test_the_payout_days_are_the_beat_schedules():
    days = {(d.days_of_month, d.two_weekly_only) for d in payout_days()}

    assert days == {((1,), False), ((15,), True)}
