"""Rates per product line (Kinsta: 10 % recurring on WordPress plans, 5 % on application and
database hosting): a plan's line rate replaces its own rates (and its tiers) on that line's
payments, each payment rated by its own line. Every figure computed by hand in a comment."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from affiliates.models import PlanLineRate, ProductLine
from commissions.models import CommissionEntry
from commissions.rules import product_line_of
from tests.admin_forms import change_form_data
from tests.commissions.conftest import pay
from tests.factories import AffiliateFactory, PlanFactory, ReferralFactory

pytestmark = pytest.mark.django_db
Kind = CommissionEntry.Kind
NOV = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def lines(db):
    return {
        "wp": ProductLine.objects.create(name="WordPress", patterns="wp-*"),
        "app": ProductLine.objects.create(name="Applications", patterns="app-*\nDB-*"),
    }


@pytest.fixture
def kinsta(lines):
    # 50 % of a first payment, 20 % recurring outside the lines; 10 % / 5 % recurring on them
    plan = PlanFactory(name="Kinsta", first_payment_bp=5000, recurring_bp=2000, use_tiers=False)
    PlanLineRate.objects.create(plan=plan, line=lines["wp"], recurring_bp=1000)
    PlanLineRate.objects.create(plan=plan, line=lines["app"], recurring_bp=500)
    return plan


def payment_entries():
    return list(
        CommissionEntry.objects.filter(kind__in=[Kind.FIRST_PAYMENT, Kind.RECURRING]).order_by(
            "payment__paid_at"
        )
    )


def test_a_customer_in_two_lines_earns_each_lines_rate_on_its_payments(kinsta):
    # given a customer of an affiliate on the Kinsta plan, with a WordPress and an
    # application subscription
    referral = ReferralFactory(affiliate=AffiliateFactory(plan=kinsta))

    # when it pays its first WordPress month, then one month of each, then an unlined plan
    pay(referral, external_id="p1", amount=3000, paid_at=NOV, plan="wp-starter")
    pay(
        referral, external_id="p2", amount=3000, paid_at=NOV + timedelta(days=30), plan="wp-starter"
    )
    pay(referral, external_id="p3", amount=4000, paid_at=NOV + timedelta(days=31), plan="app-basic")
    pay(referral, external_id="p4", amount=4000, paid_at=NOV + timedelta(days=32), plan="db-small")
    pay(referral, external_id="p5", amount=5000, paid_at=NOV + timedelta(days=33), plan="Pro")

    # then the first payment has no line first-payment rate: the plan's 50 % of 3000 = 1500;
    # recurring WordPress 10 % of USD 30.00 = 300; application 5 % of USD 40.00 = 200;
    # database (same line, "DB-*" matched case-insensitively) 5 % of 4000 = 200;
    # "Pro" is in no line: the plan's 20 % of 5000 = 1000
    got = [(e.amount, e.rate_bp, e.rule) for e in payment_entries()]
    assert got == [
        (1500, 5000, "Kinsta: first payment"),
        (300, 1000, "Kinsta, WordPress line: recurring payment"),
        (200, 500, "Kinsta, Applications line: recurring payment"),
        (200, 500, "Kinsta, Applications line: recurring payment"),
        (1000, 2000, "Kinsta: recurring payment"),
    ]


def test_a_line_first_payment_rate_replaces_the_plans(kinsta, lines):
    # given WordPress first payments at 40 % on the Kinsta plan
    PlanLineRate.objects.filter(plan=kinsta, line=lines["wp"]).update(first_payment_bp=4000)
    referral = ReferralFactory(affiliate=AffiliateFactory(plan=kinsta))

    # when the customer's first payment is USD 30.00 on wp-business
    pay(referral, external_id="p1", amount=3000, paid_at=NOV, plan="WP-Business")

    # then 3000 × 40 % = 1200, and the rule names the line
    [entry] = payment_entries()
    assert (entry.kind, entry.amount, entry.rate_bp) == (Kind.FIRST_PAYMENT, 1200, 4000)
    assert entry.rule == "Kinsta, WordPress line: first payment"


def test_a_line_rate_replaces_the_tier_last_months_sales_reach(default_plan, lines):
    # given the tiered default plan with a 10 % WordPress recurring rate, and an affiliate
    # whose October sales are USD 1,200.00 (tier 3: 70 % / 30 %)
    PlanLineRate.objects.create(plan=default_plan, line=lines["wp"], recurring_bp=1000)
    alice = AffiliateFactory()
    october = ReferralFactory(affiliate=alice)
    pay(october, external_id="oct", amount=120_000, paid_at=datetime(2026, 10, 5, tzinfo=UTC))
    referral = ReferralFactory(affiliate=alice)
    pay(referral, external_id="p1", amount=3000, paid_at=NOV, plan="Pro")

    # when that customer pays a WordPress month and a non-line month in November
    pay(referral, external_id="p2", amount=3000, paid_at=NOV + timedelta(days=1), plan="wp-pro")
    pay(referral, external_id="p3", amount=3000, paid_at=NOV + timedelta(days=2), plan="Pro")

    # then WordPress: 10 % of 3000 = 300 whatever the tier; the other: tier 3's 30 % = 900
    wp, other = CommissionEntry.objects.filter(
        payment__external_id__in=["p2", "p3"], kind=Kind.RECURRING
    ).order_by("payment__paid_at")
    assert (wp.amount, wp.rule) == (300, f"{default_plan.name}, WordPress line: recurring payment")
    assert (other.amount, other.rate_bp) == (900, 3000)
    assert "tier" in other.rule


def test_the_most_specific_line_takes_the_payment_even_without_a_rate_on_the_plan(kinsta):
    # given a "Managed databases" line naming wp-db exactly (more specific than "wp-*"),
    # for which the Kinsta plan has no rate of its own
    ProductLine.objects.create(name="Managed databases", patterns="wp-db")
    referral = ReferralFactory(affiliate=AffiliateFactory(plan=kinsta))
    pay(referral, external_id="p1", amount=3000, paid_at=NOV, plan="wp-starter")

    # when the customer pays USD 30.00 for wp-db
    pay(referral, external_id="p2", amount=3000, paid_at=NOV + timedelta(days=1), plan="wp-db")

    # then it is a database payment, not a WordPress one: the plan's 20 % = 600, not 10 %
    entry = CommissionEntry.objects.get(payment__external_id="p2")
    assert (entry.amount, entry.rule) == (600, "Kinsta: recurring payment")


def test_the_affiliates_own_override_still_wins_over_a_line_rate(kinsta):
    # given an affiliate on the Kinsta plan with a fixed 25 % override
    referral = ReferralFactory(affiliate=AffiliateFactory(plan=kinsta, commission_override_bp=2500))
    pay(referral, external_id="p1", amount=3000, paid_at=NOV, plan="wp-starter")

    # when it pays a WordPress month of USD 30.00
    pay(referral, external_id="p2", amount=3000, paid_at=NOV + timedelta(days=1), plan="wp-pro")

    # then 25 % of 3000 = 750
    entry = CommissionEntry.objects.get(payment__external_id="p2")
    assert (entry.amount, entry.rule) == (750, "affiliate override: recurring payment")


def test_the_referral_page_names_the_line_in_the_entrys_rule(client, kinsta):
    # given a customer with a WordPress and an application payment
    alice = AffiliateFactory(plan=kinsta)
    referral = ReferralFactory(affiliate=alice)
    pay(referral, external_id="p1", amount=3000, paid_at=NOV, plan="wp-starter")
    pay(referral, external_id="p2", amount=4000, paid_at=NOV + timedelta(days=1), plan="app-x")

    # when the affiliate opens the customer's drill-down
    client.force_login(alice.user)
    page = client.get(reverse("dashboard-referral", kwargs={"pk": referral.pk}))

    # then the rule in words names the line beside its rate (5 % of USD 40.00)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Kinsta, Applications line: recurring payment" in html


@pytest.mark.parametrize("patterns", ["", "  \n ", "*", "wp*-x", "wp-**"])
def test_a_line_without_a_usable_pattern_is_refused(patterns):
    with pytest.raises(ValidationError):
        ProductLine(name="Broken", patterns=patterns).full_clean()


def test_a_manager_types_line_rates_as_percentages_on_the_plan(manager_client, kinsta, lines):
    # given the Kinsta plan's change page, with its two line rates
    url = f"/admin/affiliates/plan/{kinsta.pk}/change/"
    page = manager_client.get(url)
    html = page.content.decode()
    assert 'value="10 %"' in html and 'value="5 %"' in html  # shown as percentages
    data = change_form_data(page)
    wp_row = next(
        k.rsplit("-", 1)[0]
        for k, v in data.items()
        if k.startswith("line_rates-") and k.endswith("-line") and str(v) == str(lines["wp"].pk)
    )

    # when the manager types 12.5 % recurring and 40 % first payment for WordPress
    data[f"{wp_row}-recurring_bp"] = "12.5 %"
    data[f"{wp_row}-first_payment_bp"] = "40"
    response = manager_client.post(url, data)

    # then 12.5 % = 1250 bp and 40 % = 4000 bp; the application rate is untouched
    assert response.status_code == 302, response.context["adminform"].form.errors
    wp = PlanLineRate.objects.get(plan=kinsta, line=lines["wp"])
    assert (wp.first_payment_bp, wp.recurring_bp) == (4000, 1250)
    assert PlanLineRate.objects.get(plan=kinsta, line=lines["app"]).recurring_bp == 500


def test_support_cannot_change_product_lines(support_client, lines):
    response = support_client.post(
        f"/admin/affiliates/productline/{lines['wp'].pk}/change/",
        {"name": "Hacked", "patterns": "x-*"},
    )

    assert response.status_code == 403
    assert ProductLine.objects.get(pk=lines["wp"].pk).name == "WordPress"


@settings(max_examples=200, deadline=None)
@given(
    plan=st.text(alphabet="abwpdxy-_ÄÉ", max_size=12),
)
def test_a_product_plan_is_in_the_most_specific_line_that_matches_it(plan):
    # lines: "wp-*" (WordPress), "wp-d*" (Databases, a longer prefix), "wp-db" exact (Exact)
    lines = [
        ProductLine(name="WordPress", patterns="wp-*"),
        ProductLine(name="Databases", patterns="WP-D*"),
        ProductLine(name="Exact", patterns="wp-db"),
    ]
    cache = {("product_lines",): sorted(lines, key=lambda line: line.name)}
    wanted = plan.strip().lower()

    found = product_line_of(plan, cache)

    if wanted == "wp-db":
        expected = "Exact"
    elif wanted.startswith("wp-d"):
        expected = "Databases"
    elif wanted.startswith("wp-"):
        expected = "WordPress"
    else:
        expected = None
    assert (found.name if found else None) == expected


def test_the_affiliates_overview_lists_its_plans_line_rates(client, kinsta):
    alice = AffiliateFactory(plan=kinsta)
    client.force_login(alice.user)

    html = client.get(reverse("dashboard")).content.decode()

    paragraph = html.split('id="line-rates">', 1)[1].split("</p>", 1)[0]
    assert "Applications 5" in paragraph and "WordPress 10" in paragraph
