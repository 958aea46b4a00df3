"""The staff's program dashboard at /dashboard/program/: who may see it and its figures."""

import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from affiliates.models import Affiliate
from affiliates.roles import SUPPORT
from tests.dashboard.conftest import daily, path_stat, referrer_stat
from tests.factories import AffiliateFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def support_client(client):
    user = UserFactory(email="support@example.com", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=SUPPORT)[0])
    client.force_login(user)
    return client


def test_support_staff_see_the_program_dashboard(support_client):
    response = support_client.get("/dashboard/program/")

    assert response.status_code == 200
    assert "Program dashboard" in response.content.decode()


def test_an_affiliate_is_refused_the_program_dashboard(client):
    affiliate = AffiliateFactory()
    client.force_login(affiliate.user)

    response = client.get("/dashboard/program/")

    assert response.status_code == 403


def test_anonymous_visitors_are_sent_to_log_in_for_the_program_dashboard(client):
    response = client.get("/dashboard/program/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/dashboard/program/")


def test_program_totals_sum_every_affiliate_over_the_period(support_client, days_ago):
    alice, bob = AffiliateFactory(username="alice"), AffiliateFactory(username="bob")
    daily(
        alice, days_ago(0), clicks=10, signups=2, first_payments=1, revenue=20_000, commission=5_000
    )
    daily(
        bob, days_ago(5), clicks=30, signups=1, first_payments=1, revenue=10_000, commission=1_000
    )
    daily(bob, days_ago(60), clicks=1000, revenue=999_900, commission=1)  # outside 30 days

    response = support_client.get("/dashboard/program/")

    # clicks 10 + 30 = 40, signups 3, first payments 2, revenue 30000 cents = USD 300.00,
    # commission 6000 cents = USD 60.00; ROI (30000 − 6000) / 6000 = 400.0 %;
    # cost per new paying customer 6000 / 2 = USD 30.00; EPC 6000 / 40 = 150 cents.
    assert response.context["totals"] == {
        "clicks": 40,
        "unique_clicks": 0,
        "signups": 3,
        "first_payments": 2,
        "revenue": 30_000,
        "commission": 6_000,
    }
    html = response.content.decode()
    assert '<dd id="total-revenue">USD 300.00</dd>' in html
    assert '<dd id="total-commission">USD 60.00</dd>' in html
    assert re.search(r'<dd id="total-roi"[^>]*>400.0%</dd>', html)
    assert '<dd id="total-cac" title="commission / new paying customers">USD 30.00</dd>' in html
    assert '<dd id="total-epc" title="commission / clicks">USD 1.50</dd>' in html


def test_roi_below_zero_when_commission_exceeds_revenue(support_client, days_ago):
    # (1000 − 4000) / 4000 = −75.0 %
    daily(AffiliateFactory(), days_ago(0), clicks=3, revenue=1_000, commission=4_000)

    html = support_client.get("/dashboard/program/").content.decode()

    assert re.search(r'<dd id="total-roi"[^>]*>-75.0%</dd>', html)


def test_roi_and_per_customer_figures_are_a_dash_without_a_denominator(support_client, days_ago):
    daily(AffiliateFactory(), days_ago(0), clicks=0, revenue=1_000)

    html = support_client.get("/dashboard/program/", {"range": "7"}).content.decode()

    assert re.search(r'<dd id="total-roi"[^>]*>—</dd>', html)
    assert re.search(r'<dd id="total-cac"[^>]*>—</dd>', html)
    assert re.search(r'<dd id="total-epc"[^>]*>—</dd>', html)


def test_top_affiliates_are_ranked_by_revenue_and_capped_at_ten(support_client, days_ago):
    # aff-01 … aff-12 earn 100 … 1200 cents of revenue today; aff-12 leads, aff-03 is tenth.
    for n in range(1, 13):
        affiliate = AffiliateFactory(username=f"aff-{n:02d}")
        daily(affiliate, days_ago(0), clicks=n, signups=1, revenue=100 * n, commission=10 * n)
    # aff-01 also earned 5000 cents 80 days ago: counts in 90 days only.
    daily(Affiliate.objects.get(username="aff-01"), days_ago(80), revenue=5_000)

    top_30 = support_client.get("/dashboard/program/").context["top_affiliates"]
    top_90 = support_client.get("/dashboard/program/", {"range": "90"}).context["top_affiliates"]

    assert [r.username for r in top_30] == [f"aff-{n:02d}" for n in range(12, 2, -1)]
    assert (top_30[0].clicks, top_30[0].signups, top_30[0].revenue, top_30[0].commission) == (
        12,
        1,
        1_200,
        120,
    )
    # 90 days: aff-01 has 100 + 5000 = 5100 and leads.
    assert top_90[0].username == "aff-01" and top_90[0]["revenue"] == 5_100


def test_top_affiliates_by_clicks_and_by_conversion(support_client, days_ago):
    # many: 500 clicks (400 unique), 8 signups → 2.0 %; sharp: 40 unique, 6 signups → 15.0 %;
    # lucky: 1 signup from 2 unique clicks (50 %) but under the 20-unique-click minimum.
    many, sharp, lucky = (AffiliateFactory(username=n) for n in ("many", "sharp", "lucky"))
    daily(many, days_ago(1), clicks=500, unique_clicks=400, signups=8)
    daily(sharp, days_ago(1), clicks=45, unique_clicks=40, signups=6)
    daily(lucky, days_ago(1), clicks=2, unique_clicks=2, signups=1)

    context = support_client.get("/dashboard/program/").context

    assert [r.username for r in context["top_by_clicks"]] == ["many", "sharp", "lucky"]
    assert [(r.username, r.conversion) for r in context["top_by_conversion"]] == [
        ("sharp", "15.0"),
        ("many", "2.0"),
    ]


def test_top_affiliate_names_link_to_their_admin_page(support_client, days_ago):
    alice = AffiliateFactory(username="alice")
    daily(alice, days_ago(0), clicks=1, revenue=100)

    html = support_client.get("/dashboard/program/").content.decode()

    assert f'<a href="/admin/affiliates/affiliate/{alice.pk}/change/">alice</a>' in html


def test_top_paths_and_referrers_span_every_affiliate(support_client, days_ago):
    alice, bob = AffiliateFactory(), AffiliateFactory()
    # /pricing/ 4 (alice) + 5 (bob) = 9 beats /blog/ 7.
    path_stat(alice, days_ago(0), "/pricing/", clicks=4)
    path_stat(bob, days_ago(1), "/pricing/", clicks=5)
    path_stat(bob, days_ago(1), "/blog/", clicks=7)
    referrer_stat(alice, days_ago(0), "x.example", clicks=2)
    referrer_stat(bob, days_ago(0), "x.example", clicks=2)

    response = support_client.get("/dashboard/program/")

    assert [(p["name"], p["clicks"]) for p in response.context["top_paths"]] == [
        ("/pricing/", 9),
        ("/blog/", 7),
    ]
    assert [(r["name"], r["clicks"]) for r in response.context["top_referrers"]] == [
        ("x.example", 4),
    ]


def test_applications_waiting_are_counted_and_linked_to_the_filtered_admin_list(support_client):
    AffiliateFactory.create_batch(2)
    AffiliateFactory.create_batch(3, status=Affiliate.Status.APPLIED)

    response = support_client.get("/dashboard/program/")

    assert response.context["applications_waiting"] == 3
    html = response.content.decode()
    assert '<strong id="applications-count">3</strong>' in html
    assert 'href="/admin/affiliates/affiliate/?status__exact=applied"' in html


def test_the_program_page_costs_the_same_queries_whatever_the_data(support_client, days_ago):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert support_client.get("/dashboard/program/", {"range": "90"}).status_code == 200
        return len(captured)

    daily(AffiliateFactory(), days_ago(0), clicks=1, revenue=100, commission=10)
    few = count()
    for _ in range(15):
        affiliate = AffiliateFactory()
        for n in range(10):
            daily(affiliate, days_ago(n * 9), clicks=n, revenue=100, commission=10)
            path_stat(affiliate, days_ago(n * 9), f"/p{n}/", clicks=n)
            referrer_stat(affiliate, days_ago(n * 9), f"r{n}.example", clicks=n)
    many = count()

    assert few == many


def test_staff_find_the_program_dashboard_in_the_nav_and_the_admin_index(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)

    admin_index = client.get("/admin/").content.decode()
    program_page = client.get("/dashboard/program/").content.decode()

    assert 'href="/dashboard/program/"' in admin_index
    assert 'href="/dashboard/program/"' in program_page


def test_affiliates_do_not_see_the_program_link(client):
    affiliate = AffiliateFactory()
    client.force_login(affiliate.user)

    response = client.get("/dashboard/")

    assert "/dashboard/program/" not in response.content.decode()
