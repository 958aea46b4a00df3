"""Suspended affiliates and deactivated accounts: their links are not honoured anywhere.

The redirect, the root short link, the click API and signup attribution ignore them (302 to
the clean link, no cookie, no click; no credit), also right after the change, while every
process still holds the resolver's earlier answer (the change invalidates it on commit).
"""

import pytest
from django.contrib.auth.models import Group

from affiliates.models import AuditLog
from affiliates.roles import PROGRAM_MANAGER
from affiliates.services import set_user_active, suspend_affiliate
from tests.factories import CouponFactory, UserFactory
from tracking import clicks
from tracking.models import Click
from tracking.services import attribute_signup

from .conftest import CHROME

pytestmark = pytest.mark.django_db


def _get(client, url):
    return client.get(url, HTTP_USER_AGENT=CHROME)


def _clicks() -> int:
    clicks.flush_clicks()
    return Click.objects.count()


@pytest.fixture
def manager_client(client):
    manager = UserFactory(email="manager@example.com", is_staff=True)
    manager.groups.add(Group.objects.get(name=PROGRAM_MANAGER))
    client.force_login(manager)
    return client


def _untick_is_active_in_admin(manager_client, user) -> None:
    response = manager_client.post(
        f"/admin/affiliates/user/{user.pk}/change/",
        {
            "email": user.email,
            "name": user.name,
            # is_active left out: the unticked checkbox
            "date_joined_0": "2026-11-02",
            "date_joined_1": "12:00:00",
        },
    )
    assert response.status_code == 302, response.content


def _assert_not_honoured(response, location: str) -> None:
    assert response.status_code == 302
    assert response["Location"] == location
    assert "referral" not in response.cookies
    assert "referral_click" not in response.cookies


def test_a_user_deactivated_in_admin_stops_its_links_at_once(
    client, manager_client, alice, django_capture_on_commit_callbacks
):
    visitor = client.__class__()
    warm = _get(visitor, "/r/pricing/alice")  # every cache now holds "alice is approved"
    assert warm.cookies["referral"].value == alice.public_id
    recorded = _clicks()

    with django_capture_on_commit_callbacks(execute=True):
        _untick_is_active_in_admin(manager_client, alice.user)

    fresh = client.__class__()
    _assert_not_honoured(_get(fresh, "/r/pricing/alice?x=1"), "https://example.com/pricing/?x=1")
    _assert_not_honoured(_get(fresh, "/alice"), "https://example.com/")
    assert _clicks() == recorded  # no click for the deactivated account
    alice.user.refresh_from_db()
    assert not alice.user.is_active
    assert AuditLog.objects.filter(action="user.deactivated", affiliate=alice).count() == 1


def test_a_suspended_affiliate_stops_its_links_at_once(
    client, alice, now, django_capture_on_commit_callbacks
):
    _get(client.__class__(), "/alice")
    recorded = _clicks()

    with django_capture_on_commit_callbacks(execute=True):
        suspend_affiliate(affiliate=alice, now=now)

    _assert_not_honoured(_get(client, "/r/blog/post/alice"), "https://example.com/blog/post/")
    _assert_not_honoured(_get(client, "/alice/"), "https://example.com/")
    assert _clicks() == recorded


def test_the_click_api_refuses_a_deactivated_accounts_username(
    api, alice, now, django_capture_on_commit_callbacks
):
    body = {"username": "alice", "link": "https://example.com/pricing/alice"}
    assert api.post("/api/v1/clicks", body, format="json").status_code == 201
    recorded = _clicks()

    with django_capture_on_commit_callbacks(execute=True):
        set_user_active(user=alice.user, active=False, now=now, actor=None)
    response = api.post("/api/v1/clicks", body, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert _clicks() == recorded


@pytest.mark.parametrize("evidence", ["cookie", "coupon", "declared"])
def test_a_deactivated_accounts_cookie_coupon_or_name_credits_nobody(alice, now, evidence):
    CouponFactory(code="ALICE10", affiliate=alice)
    set_user_active(user=alice.user, active=False, now=now, actor=None)
    given = {
        "cookie": {"referral": alice.public_id},
        "coupon": {"coupon": "ALICE10"},
        "declared": {"referred_by": "alice"},
    }[evidence]

    referral = attribute_signup(customer_id="c1", email="carol@carol.test", now=now, **given)

    assert referral.affiliate is None
    assert "deactivated" in referral.why


def test_a_deactivated_employee_cannot_be_named(alice, now):
    from config.errors import ServiceError

    emp = alice
    emp.is_employee = True
    emp.save(update_fields=["is_employee"])
    set_user_active(user=emp.user, active=False, now=now, actor=None)

    with pytest.raises(ServiceError):
        attribute_signup(customer_id="c1", email="carol@carol.test", employee="alice", now=now)


def test_reactivating_honours_the_links_again(
    client, alice, now, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        set_user_active(user=alice.user, active=False, now=now, actor=None)
    _assert_not_honoured(_get(client, "/alice"), "https://example.com/")

    with django_capture_on_commit_callbacks(execute=True):
        set_user_active(user=alice.user, active=True, now=now, actor=None)

    assert _get(client, "/alice").cookies["referral"].value == alice.public_id
