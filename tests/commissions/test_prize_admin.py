"""The prize budget in admin: a Program manager types amounts as money ("120.00"), stored in
minor units; Support reads; rounds and awards are read-only for everyone."""

from __future__ import annotations

import pytest
from django.urls import reverse

from affiliates.roles import PROGRAM_MANAGER, SUPPORT
from commissions.models import PrizePlace

pytestmark = pytest.mark.django_db


def test_the_default_budget_is_175_as_100_50_25_plus_50_for_the_employee():
    places = list(PrizePlace.objects.values_list("contest", "rank", "amount"))

    assert sorted(places) == [
        ("affiliates", 1, 10000),
        ("affiliates", 2, 5000),
        ("affiliates", 3, 2500),
        ("employees", 1, 5000),
    ]


def test_a_manager_edits_a_place_as_money(staff_client):
    manager = staff_client(PROGRAM_MANAGER)
    place = PrizePlace.objects.get(contest="affiliates", rank=1)
    url = reverse("admin:commissions_prizeplace_change", args=[place.pk])

    page = manager.get(url)
    response = manager.post(url, {"contest": "affiliates", "rank": "1", "amount": "120.00"})

    assert page.status_code == 200 and 'value="100.00"' in page.content.decode()
    assert response.status_code == 302
    place.refresh_from_db()
    assert place.amount == 12000  # $120.00 in cents


def test_a_bad_amount_is_a_form_error_and_changes_nothing(staff_client):
    manager = staff_client(PROGRAM_MANAGER)
    place = PrizePlace.objects.get(contest="affiliates", rank=2)
    url = reverse("admin:commissions_prizeplace_change", args=[place.pk])

    response = manager.post(url, {"contest": "affiliates", "rank": "2", "amount": "12.345"})

    assert response.status_code == 200 and "at most 2 decimals" in response.content.decode()
    place.refresh_from_db()
    assert place.amount == 5000


def test_support_reads_the_budget_and_the_awards_but_cannot_change_them(staff_client):
    support = staff_client(SUPPORT)
    place = PrizePlace.objects.get(contest="employees", rank=1)

    listing = support.get(reverse("admin:commissions_prizeplace_changelist"))
    awards = support.get(reverse("admin:commissions_prizeaward_changelist"))
    post = support.post(
        reverse("admin:commissions_prizeplace_change", args=[place.pk]),
        {"contest": "employees", "rank": "1", "amount": "1.00"},
    )

    assert listing.status_code == 200 and awards.status_code == 200
    assert post.status_code == 403
    place.refresh_from_db()
    assert place.amount == 5000
