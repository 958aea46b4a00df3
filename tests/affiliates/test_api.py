"""GET /api/v1/affiliates and /api/v1/affiliates/<public_id>."""

import pytest

from affiliates.models import Affiliate
from tests.factories import AffiliateFactory, PlanFactory

pytestmark = pytest.mark.django_db


def test_an_affiliate_is_read_by_public_id(api):
    affiliate = AffiliateFactory(username="alice", plan=PlanFactory(name="Influencers"))

    response = api.get(f"/api/v1/affiliates/{affiliate.public_id}")

    assert response.status_code == 200
    assert response.json() == {
        "public_id": affiliate.public_id,
        "username": "alice",
        "status": "approved",
        "plan": "Influencers",
        "created_at": "2026-11-02T12:00:00Z",
        "balances": {},  # no ledger entries yet
    }


def test_an_affiliate_without_a_plan_reads_plan_null(api):
    affiliate = AffiliateFactory(plan=None)

    assert api.get(f"/api/v1/affiliates/{affiliate.public_id}").json()["plan"] is None


def test_an_unknown_public_id_is_a_404_in_the_error_shape(api):
    response = api.get("/api/v1/affiliates/nope")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_database_pk_is_not_a_public_id(api):
    affiliate = AffiliateFactory()

    assert api.get(f"/api/v1/affiliates/{affiliate.pk}").status_code == 404


def test_the_api_needs_a_key(anon_api):
    assert anon_api.get("/api/v1/affiliates").status_code in (401, 403)


def test_the_list_filters_by_status_and_query(api, now):
    from affiliates.services import change_username

    AffiliateFactory(username="apple-fan", status=Affiliate.Status.APPLIED)
    renamed = AffiliateFactory(username="banana-fan")
    change_username(affiliate=renamed, new_username="cherry-fan", now=now)
    AffiliateFactory(username="durian-fan", user__email="durian@fruit.test")

    applied = api.get("/api/v1/affiliates", {"status": "applied"}).json()
    by_alias = api.get("/api/v1/affiliates", {"q": "banana"}).json()
    by_email = api.get("/api/v1/affiliates", {"q": "durian@fruit"}).json()

    assert [a["username"] for a in applied["results"]] == ["apple-fan"]
    assert [a["username"] for a in by_alias["results"]] == ["cherry-fan"]
    assert [a["username"] for a in by_email["results"]] == ["durian-fan"]


def test_the_list_is_paginated(api):
    AffiliateFactory.create_batch(3)

    page = api.get("/api/v1/affiliates", {"page_size": 2}).json()

    assert page["count"] == 3
    assert len(page["results"]) == 2 and page["next"]


def test_a_bad_status_filter_is_a_400(api):
    response = api.get("/api/v1/affiliates", {"status": "bogus"})

    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]


def test_the_detail_shows_balances_per_currency_in_minor_units(api):
    from tests.factories import CommissionEntryFactory

    affiliate = AffiliateFactory()
    CommissionEntryFactory(affiliate=affiliate, amount=2000, currency="USD", state="pending")
    CommissionEntryFactory(affiliate=affiliate, amount=800, currency="USD", state="approved")
    CommissionEntryFactory(affiliate=affiliate, amount=-300, currency="USD", state="approved")
    CommissionEntryFactory(affiliate=affiliate, amount=500, currency="EUR", state="declined")
    CommissionEntryFactory(affiliate=affiliate, amount=700, currency="EUR", state="approved")

    response = api.get(f"/api/v1/affiliates/{affiliate.public_id}")

    # USD: pending 2000; approved 800 - 300 (clawback) = 500. EUR: declined counts nowhere.
    assert response.status_code == 200
    assert response.json()["balances"] == {
        "USD": {"pending": 2000, "approved": 500, "in_payout": 0, "paid": 0},
        "EUR": {"pending": 0, "approved": 700, "in_payout": 0, "paid": 0},
    }


def test_an_api_call_records_when_its_key_was_last_used_without_a_write_per_request(db):
    import time_machine
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from rest_framework.test import APIClient

    from affiliates.models import ApiKey
    from affiliates.services import create_api_key

    key, raw = create_api_key(name="billing", now=timezone.now())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    with time_machine.travel("2026-11-02 12:00:00Z", tick=False):
        client.get("/api/v1/affiliates")
    with time_machine.travel("2026-11-02 12:00:30Z", tick=False):
        with CaptureQueriesContext(connection) as queries:
            client.get("/api/v1/affiliates")

    key.refresh_from_db()
    assert key.last_used_at.isoformat() == "2026-11-02T12:00:00+00:00"
    assert not [q for q in queries if "UPDATE" in q["sql"] and "apikey" in q["sql"]]
    assert ApiKey.objects.filter(last_used_at__isnull=False).count() == 1
