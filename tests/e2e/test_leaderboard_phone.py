"""The prize leaderboard on a 390 px phone in Chromium: a long opted-in username and large
amounts never widen the page (the tables scroll inside their wrappers)."""

from datetime import UTC

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

PHONE = {"width": 390, "height": 844}


def test_at_390_px_the_leaderboard_fits(live_server, browser):
    from commissions.prize_selectors import month_bounds
    from tests.commissions.conftest import pay
    from tests.commissions.test_prizes import _install_default_places
    from tests.factories import (
        AffiliateFactory,
        ReferralFactory,
        UserFactory,
        ensure_installed_default_plan,
    )

    ensure_installed_default_plan()
    _install_default_places()
    now = timezone.now()
    start, _ = month_bounds(now.astimezone(UTC).date().replace(day=1))
    so_far = start + (now - start) / 2
    viewer = AffiliateFactory(user=UserFactory(email="alice@example.org"), username="alice")
    long_name = "a" * 30
    for i, who in enumerate(
        [viewer, AffiliateFactory(username=long_name, leaderboard_opt_in=True)]
        + [AffiliateFactory() for _ in range(10)]
    ):
        referral = ReferralFactory(affiliate=who)
        pay(referral, external_id=f"ph_{i}", amount=99_999_999 - i, paid_at=so_far)
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", "alice@example.org")
        page.fill("input[name=password]", "pass-1234-word")
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/dashboard/", timeout=15000)

        page.goto(f"{live_server.url}/dashboard/leaderboard/")

        assert page.locator("#current-affiliates").is_visible()
        assert page.locator("#current-affiliates", has_text=long_name).count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") == 390
    finally:
        context.close()
