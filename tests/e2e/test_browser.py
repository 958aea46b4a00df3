"""End-to-end: what a person sees in a real browser."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_api_docs_render_offline_in_a_browser(live_server, page):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)

    assert "Ambassador API" in page.inner_text(".swagger-ui .info .title")
    # Every asset came from our own server: no CDN at run time.
    assert all(url.startswith(live_server.url) for url in requests), [
        u for u in requests if not u.startswith(live_server.url)
    ]


def test_an_affiliate_logs_in_and_sees_its_period_totals_on_the_dashboard(live_server, page):
    from datetime import UTC, datetime, time, timedelta

    from django.utils import timezone

    from tests.factories import AffiliateFactory, CommissionEntryFactory, UserFactory
    from tracking.models import DailyStat

    user = UserFactory(email="alice@example.org")
    alice = AffiliateFactory(user=user, username="alice")
    today = timezone.now().astimezone(UTC).date()
    # 30 days: clicks 12 + 8 = 20, unique 10 + 6 = 16, signups 2 + 2 = 4 (4 / 16 = 25.0%),
    # commission 1250 + 250 = 1500 cents = USD 15.00.
    DailyStat.objects.create(
        affiliate=alice, day=today, clicks=12, unique_clicks=10, signups=2, commission=1250
    )
    DailyStat.objects.create(
        affiliate=alice,
        day=today - timedelta(days=3),
        clicks=8,
        unique_clicks=6,
        signups=2,
        commission=250,
    )
    # The ledger entries behind the rollups' commission (the earnings tile reads the ledger;
    # an entry with no payment counts on the day it was written, here noon UTC).
    for day, amount in ((today, 1250), (today - timedelta(days=3), 250)):
        at = datetime.combine(day, time(12), tzinfo=UTC)
        CommissionEntryFactory(affiliate=alice, amount=amount, created_at=at, approve_after=at)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "alice@example.org")
    page.fill("input[name=password]", "pass-1234-word")
    page.click("form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/", timeout=15000)

    assert "Hello, alice" in page.inner_text("h1")
    assert page.inner_text("#total-clicks") == "20"
    assert page.inner_text("#total-signups") == "4"
    assert page.inner_text("#total-conversion") == "25.0%"
    assert page.inner_text("#total-commission") == "USD 15.00"
