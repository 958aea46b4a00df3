"""The prize leaderboard (/dashboard/leaderboard/): this month so far and last month's
winners; usernames only for affiliates who opted in, "Affiliate #rank" for the others, the
viewer's own row named and marked. The opt-in is a section of the settings page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from affiliates.models import Affiliate
from commissions.prize_selectors import month_bounds, previous_month
from commissions.services.prizes import award_prizes
from tests.commissions.conftest import pay
from tests.factories import AffiliateFactory, ReferralFactory

pytestmark = pytest.mark.django_db

_n = iter(range(1, 10**6))


def new_customer_pays(affiliate, amount, paid_at):
    referral = ReferralFactory(affiliate=affiliate)
    pay(referral, external_id=f"lb_{next(_n)}", amount=amount, paid_at=paid_at)


def rows(html: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table class="figures" id="{table_id}">.*?</table>', html, re.S).group(0)
    body = table.split("<tbody>", 1)[1]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        ]
        for tr in re.findall(r"<tr.*?</tr>", body, re.S)
    ]


@pytest.fixture
def board():
    """This month so far (cents): carol 9000, bob 5000 (opted in), alice 3000 (the viewer),
    dan (an employee) 20000 — in his own contest, not on the affiliates' board.
    Last month: the same order, awarded: carol $100, bob $50, alice $25."""
    now = timezone.now()
    this_start, _end = month_bounds(now.astimezone(UTC).date().replace(day=1))
    last_start, _ = month_bounds(previous_month(now))
    # Mid-way between the month's start and now: inside this month, not in the future.
    so_far = this_start + (now - this_start) / 2
    alice = AffiliateFactory(username="alice")
    bob = AffiliateFactory(username="bob", leaderboard_opt_in=True)
    carol = AffiliateFactory(username="carol")
    dan = AffiliateFactory(username="dan", is_employee=True)
    for who, amount in ((carol, 9000), (bob, 5000), (alice, 3000), (dan, 20000)):
        new_customer_pays(who, amount, last_start + timedelta(days=3))
        new_customer_pays(who, amount, so_far)
    award_prizes(month=previous_month(now), now=now)
    return {"alice": alice, "bob": bob, "carol": carol, "dan": dan}


def test_the_leaderboard_names_only_affiliates_who_opted_in(client, board):
    client.force_login(board["alice"].user)

    response = client.get(reverse("dashboard-leaderboard"))

    assert response.status_code == 200
    html = response.content.decode()
    assert rows(html, "current-affiliates") == [
        ["1", "Affiliate #1", "USD 90.00", "USD 100.00"],
        ["2", "bob", "USD 50.00", "USD 50.00"],
        ["3", "You (alice)", "USD 30.00", "USD 25.00"],
    ]
    assert rows(html, "winners-affiliates") == [
        ["1", "Affiliate #1", "USD 90.00", "USD 100.00"],
        ["2", "bob", "USD 50.00", "USD 50.00"],
        ["3", "You (alice)", "USD 30.00", "USD 25.00"],
    ]
    assert "carol" not in html and "dan" not in html
    assert 'class="you" aria-current="true"' in html


def test_opting_in_on_the_settings_page_shows_the_username(client, board):
    carol = board["carol"]
    client.force_login(carol.user)

    response = client.post(
        reverse("affiliates-settings"), {"action": "leaderboard", "board-opt_in": "on"}
    )

    assert response.status_code == 302
    assert Affiliate.objects.get(pk=carol.pk).leaderboard_opt_in is True
    client.force_login(board["alice"].user)
    html = client.get(reverse("dashboard-leaderboard")).content.decode()
    assert rows(html, "current-affiliates")[0][1] == "carol"
    # and off again
    client.force_login(carol.user)
    client.post(reverse("affiliates-settings"), {"action": "leaderboard"})
    assert Affiliate.objects.get(pk=carol.pk).leaderboard_opt_in is False


def test_an_employee_sees_the_employee_of_the_month_board(client, board):
    client.force_login(board["dan"].user)

    html = client.get(reverse("dashboard-leaderboard")).content.decode()

    assert rows(html, "current-employees") == [["1", "You (dan)", "USD 200.00", "USD 50.00"]]
    assert 'id="current-affiliates"' not in html


def test_the_settings_page_shows_the_leaderboard_choice(client):
    affiliate = AffiliateFactory()
    client.force_login(affiliate.user)

    html = client.get(reverse("affiliates-settings")).content.decode()

    assert 'name="board-opt_in"' in html and 'value="leaderboard"' in html


def test_an_empty_month_says_so(client):
    client.force_login(AffiliateFactory().user)

    html = client.get(reverse("dashboard-leaderboard")).content.decode()

    assert 'id="current-affiliates-empty"' in html and 'id="winners-affiliates-empty"' in html


def test_the_month_bounds_are_utc():
    assert month_bounds(datetime(2026, 12, 1, tzinfo=UTC).date()) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
