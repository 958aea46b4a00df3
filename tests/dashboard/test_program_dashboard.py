"""The staff's program dashboard at /dashboard/program/: who may see it and its figures."""

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
    # commission 6000 cents = USD 60.00; ROI 30000 / 6000 = 5.0.
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
    assert '<dd id="total-roi" title="revenue / commission">5.0</dd>' in html


def test_roi_is_a_dash_when_no_commission_was_earned(support_client, days_ago):
    daily(AffiliateFactory(), days_ago(0), clicks=3, revenue=1_000)

    response = support_client.get("/dashboard/program/", {"days": "7"})

    assert '<dd id="total-roi" title="revenue / commission">—</dd>' in response.content.decode()


def test_top_affiliates_are_ranked_by_revenue_and_capped_at_ten(support_client, days_ago):
    # aff-01 … aff-12 earn 100 … 1200 cents of revenue today; aff-12 leads, aff-03 is tenth.
    for n in range(1, 13):
        affiliate = AffiliateFactory(username=f"aff-{n:02d}")
        daily(affiliate, days_ago(0), clicks=n, signups=1, revenue=100 * n, commission=10 * n)
    # aff-01 also earned 5000 cents 80 days ago: counts in 90 days only.
    daily(Affiliate.objects.get(username="aff-01"), days_ago(80), revenue=5_000)

    top_30 = support_client.get("/dashboard/program/").context["top_affiliates"]
    top_90 = support_client.get("/dashboard/program/", {"days": "90"}).context["top_affiliates"]

    assert [r["affiliate__username"] for r in top_30] == [f"aff-{n:02d}" for n in range(12, 2, -1)]
    assert top_30[0] == {
        "affiliate_id": top_30[0]["affiliate_id"],
        "affiliate__username": "aff-12",
        "clicks": 12,
        "signups": 1,
        "revenue": 1_200,
        "commission": 120,
    }
    # 90 days: aff-01 has 100 + 5000 = 5100 and leads.
    assert top_90[0]["affiliate__username"] == "aff-01" and top_90[0]["revenue"] == 5_100


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


def test_affiliates_are_counted_by_status_zeros_included(support_client):
    AffiliateFactory.create_batch(2)
    AffiliateFactory(status=Affiliate.Status.APPLIED)

    response = support_client.get("/dashboard/program/")

    assert response.context["status_counts"] == [
        ("Applied", 1),
        ("Approved", 2),
        ("Rejected", 0),
        ("Suspended", 0),
    ]


def test_the_program_page_costs_the_same_queries_whatever_the_data(support_client, days_ago):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert support_client.get("/dashboard/program/", {"days": "90"}).status_code == 200
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
