"""Django admin and roles: bulk status actions, read-only Support, impersonation, audit log."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core import mail

from affiliates.models import Affiliate, AuditLog
from affiliates.roles import PROGRAM_MANAGER, SUPPORT, sync_roles
from tests.factories import AffiliateFactory, PlanFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/affiliates/affiliate/"


def _codenames(group: str) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name=group).permissions.select_related("content_type")
    }


def test_support_may_only_view_and_never_api_keys_or_payout_accounts():
    support = _codenames(SUPPORT)

    assert all(p.split(".")[1].startswith("view_") for p in support)
    assert {p.split(".")[0] for p in support} <= {
        "affiliates",
        "tracking",
        "commissions",
        "payouts",
    }
    assert "affiliates.view_affiliate" in support
    assert "payouts.view_payout" in support
    assert "affiliates.view_apikey" not in support
    assert "payouts.view_payoutaccount" not in support  # bank details and tax ids
    assert "affiliates.change_plan" not in support


def test_roles_cover_every_model_of_their_apps_from_the_registry():
    sync_roles()
    manager, support = _codenames(PROGRAM_MANAGER), _codenames(SUPPORT)

    for label in ("affiliates", "tracking", "commissions", "payouts"):
        for model in apps.get_app_config(label).get_models():
            name = model._meta.model_name
            assert f"{label}.change_{name}" in manager
            # No secrets for Support: API keys, and payout destinations (accounts, and
            # PayPal's raw batch answers and events, which name receivers' e-mails).
            if (label, name) not in {
                ("affiliates", "apikey"),
                ("payouts", "payoutaccount"),
                ("payouts", "paypalbatch"),
                ("payouts", "paypalevent"),
            }:
                assert f"{label}.view_{name}" in support
    assert "affiliates.impersonate_affiliate" in manager
    assert "affiliates.impersonate_affiliate" not in support


def test_a_program_manager_bulk_approves_through_the_service_and_mails_each_affiliate(
    manager_client, django_capture_on_commit_callbacks
):
    waiting = [
        AffiliateFactory(status=Affiliate.Status.APPLIED, approved_at=None) for _ in range(2)
    ]

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            CHANGELIST,
            {"action": "approve_selected", "_selected_action": [a.pk for a in waiting]},
            follow=True,
        )

    assert response.status_code == 200
    assert set(Affiliate.objects.values_list("status", flat=True)) == {Affiliate.Status.APPROVED}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(a.user.email for a in waiting)
    assert AuditLog.objects.filter(action="affiliate.approved").count() == 2


def test_bulk_suspend_skips_affiliates_whose_status_does_not_allow_it(manager_client):
    approved = AffiliateFactory()
    applied = AffiliateFactory(status=Affiliate.Status.APPLIED)

    response = manager_client.post(
        CHANGELIST,
        {"action": "suspend_selected", "_selected_action": [approved.pk, applied.pk]},
        follow=True,
    )

    assert b"1 skipped" in response.content
    assert Affiliate.objects.get(pk=approved.pk).status == Affiliate.Status.SUSPENDED
    assert Affiliate.objects.get(pk=applied.pk).status == Affiliate.Status.APPLIED


def test_support_sees_the_affiliates_but_cannot_change_their_status(support_client):
    waiting = AffiliateFactory(status=Affiliate.Status.APPLIED)

    listing = support_client.get(CHANGELIST)
    support_client.post(
        CHANGELIST, {"action": "approve_selected", "_selected_action": [waiting.pk]}
    )
    change = support_client.post(f"{CHANGELIST}{waiting.pk}/change/", {"status_note": "x"})

    assert listing.status_code == 200
    assert b"approve_selected" not in listing.content
    assert Affiliate.objects.get(pk=waiting.pk).status == Affiliate.Status.APPLIED
    assert change.status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/admin/affiliates/apikey/",
        "/admin/auth/group/",
        # Raw PayPal JSON: every receiver's PayPal e-mail is in a batch's answer and its events.
        "/admin/payouts/paypalbatch/",
        "/admin/payouts/paypalevent/",
        "/admin/payouts/payoutaccount/",
    ],
)
def test_support_is_refused_api_keys_roles_and_payout_destinations(support_client, url):
    assert support_client.get(url).status_code == 403


def test_support_may_read_a_plan_but_not_change_it(support_client):
    plan = PlanFactory(name="Influencers", first_payment_bp=5000)

    page = support_client.get(f"/admin/affiliates/plan/{plan.pk}/change/")
    post = support_client.post(
        f"/admin/affiliates/plan/{plan.pk}/change/",
        {"name": "Influencers", "first_payment_bp": "90 %"},
    )

    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert post.status_code == 403
    plan.refresh_from_db()
    assert plan.first_payment_bp == 5000


def test_the_admin_searches_by_email_username_alias_and_public_id(manager_client, now):
    from affiliates.services import change_username

    target = AffiliateFactory(username="findme", user__email="who@find.test")
    change_username(affiliate=target, new_username="found-it", now=now)
    AffiliateFactory(username="other-one")

    for q in ("who@find", "found-it", "findme", target.public_id):
        page = manager_client.get(CHANGELIST, {"q": q}).content.decode()

        assert "found-it" in page and "other-one" not in page, q


def test_the_change_page_shows_username_history_and_the_impersonation_button(manager_client, now):
    from affiliates.services import change_username

    target = AffiliateFactory(username="firstname")
    change_username(affiliate=target, new_username="secondname", now=now)

    page = manager_client.get(f"{CHANGELIST}{target.pk}/change/").content.decode()

    assert "Username history" in page and "firstname" in page
    assert f"/impersonate/{target.public_id}/" in page


def test_the_audit_log_is_read_only_in_admin(manager_client, admin_client):
    row = AuditLog.objects.create(action="impersonation.start")

    for client in (manager_client, admin_client):
        assert client.get("/admin/affiliates/auditlog/add/").status_code == 403
        page = client.get(f"/admin/affiliates/auditlog/{row.pk}/change/")
        assert page.status_code == 200 and b'name="_save"' not in page.content
        assert client.post(f"/admin/affiliates/auditlog/{row.pk}/delete/").status_code == 403


def test_a_program_manager_logs_in_as_an_affiliate_and_back_with_both_acts_audited(
    manager_client, manager
):
    target = AffiliateFactory(username="target-aff")

    start = manager_client.post(f"/impersonate/{target.public_id}/")
    dashboard = manager_client.get("/dashboard/")
    stop = manager_client.post("/impersonate/stop/")

    assert start.status_code == 302 and start["Location"] == "/dashboard/"
    assert b"impersonation-banner" in dashboard.content
    assert b"target-aff" in dashboard.content
    assert stop["Location"] == f"{CHANGELIST}{target.pk}/change/"
    assert manager_client.session["_auth_user_id"] == str(manager.pk)
    assert "impersonator_id" not in manager_client.session
    started, stopped = AuditLog.objects.order_by("at", "pk")
    assert (started.action, started.actor, started.affiliate) == (
        "impersonation.start",
        manager,
        target,
    )
    assert (stopped.action, stopped.actor, stopped.affiliate) == (
        "impersonation.stop",
        manager,
        target,
    )


def test_the_impersonation_banner_is_absent_for_the_affiliate_itself(client):
    affiliate = AffiliateFactory()
    client.force_login(affiliate.user)

    assert b"impersonation-banner" not in client.get("/dashboard/").content


def test_support_cannot_log_in_as_an_affiliate(support_client, support):
    target = AffiliateFactory()

    response = support_client.post(f"/impersonate/{target.public_id}/")

    assert response.status_code == 403
    assert support_client.session["_auth_user_id"] == str(support.pk)
    assert not AuditLog.objects.exists()


def test_an_affiliate_cannot_log_in_as_another(client):
    me, other = AffiliateFactory(), AffiliateFactory()
    client.force_login(me.user)

    assert client.post(f"/impersonate/{other.public_id}/").status_code == 403


def test_impersonation_needs_a_post(manager_client):
    target = AffiliateFactory()

    assert manager_client.get(f"/impersonate/{target.public_id}/").status_code == 405


def test_the_affiliates_list_shows_last_30_day_clicks_and_earnings_from_rollups(manager_client):
    from datetime import timedelta

    from django.utils import timezone

    from tracking.models import DailyStat

    affiliate = AffiliateFactory(username="rolled")
    today = timezone.now().date()
    DailyStat.objects.create(affiliate=affiliate, day=today, clicks=7, commission=1250)
    DailyStat.objects.create(
        affiliate=affiliate, day=today - timedelta(days=3), clicks=5, commission=800
    )
    DailyStat.objects.create(
        affiliate=affiliate, day=today - timedelta(days=45), clicks=99, commission=9999
    )

    response = manager_client.get(CHANGELIST)

    # 7 + 5 = 12 clicks and 1250 + 800 = 2050 cents in the window; the 45-day-old row is out.
    row = response.content.decode()
    assert response.status_code == 200
    assert ">12<" in row
    assert "USD 20.50" in row


# --- Support reads only, in every model admin -------------------------------------------


def _admin_request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_support_has_no_add_change_delete_or_action_on_any_model_admin(support):
    from django.contrib import admin

    request = _admin_request(support)
    open_doors = []

    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        if model_admin.has_add_permission(request):
            open_doors.append(f"{label}: add")
        if model_admin.has_change_permission(request):
            open_doors.append(f"{label}: change")
        if model_admin.has_delete_permission(request):
            open_doors.append(f"{label}: delete")
        if model_admin.has_view_permission(request) and model_admin.get_actions(request):
            open_doors.append(f"{label}: actions {sorted(model_admin.get_actions(request))}")

    assert open_doors == []


def test_support_is_refused_every_add_page_and_writes_nothing(support_client):
    from django.contrib import admin

    before = {m._meta.label: m._default_manager.count() for m in apps.get_models()}
    refused = {}

    for model in admin.site._registry:
        opts = model._meta
        url = f"/admin/{opts.app_label}/{opts.model_name}/add/"
        refused[opts.label] = (
            support_client.get(url).status_code,
            support_client.post(url, {"name": "x", "email": "x@example.org"}).status_code,
        )

    assert {answers for answers in refused.values()} == {(403, 403)}, refused
    after = {m._meta.label: m._default_manager.count() for m in apps.get_models()}
    assert after == before


# --- Program managers cannot grant privileges -------------------------------------------

USER_CHANGE = "/admin/affiliates/user/{}/change/"


def _user_form(user, **overrides) -> dict:
    data = {
        "email": user.email,
        "name": user.name,
        "is_active": "on" if user.is_active else "",
        "date_joined_0": "2026-11-02",
        "date_joined_1": "12:00:00",
        "last_login_0": "",
        "last_login_1": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


def _escalation(manager_group_pk: int, permission_pk: int) -> dict:
    return {
        "is_staff": "on",
        "is_superuser": "on",
        "groups": [manager_group_pk],
        "user_permissions": [permission_pk],
    }


def test_a_manager_cannot_make_itself_superuser_even_with_a_forged_post(manager_client, manager):
    from django.contrib.auth.models import Permission

    group = Group.objects.get(name=PROGRAM_MANAGER)
    perm = Permission.objects.get(codename="change_group")

    page = manager_client.get(USER_CHANGE.format(manager.pk))
    forged = manager_client.post(
        USER_CHANGE.format(manager.pk), _user_form(manager, **_escalation(group.pk, perm.pk))
    )

    assert page.status_code == 200 and b'name="_save"' not in page.content  # view only
    assert forged.status_code == 403
    manager.refresh_from_db()
    assert not manager.is_superuser
    assert not manager.user_permissions.exists()


def test_a_manager_edits_an_affiliates_account_but_a_forged_privilege_is_ignored(
    manager_client,
):
    from django.contrib.auth.models import Permission

    member = AffiliateFactory().user
    group = Group.objects.get(name=PROGRAM_MANAGER)
    perm = Permission.objects.get(codename="change_group")

    page = manager_client.get(USER_CHANGE.format(member.pk))
    response = manager_client.post(
        USER_CHANGE.format(member.pk),
        _user_form(member, name="Renamed", **_escalation(group.pk, perm.pk)),
    )

    assert b'name="is_superuser"' not in page.content and b'name="groups"' not in page.content
    assert response.status_code == 302, response.content
    member.refresh_from_db()
    assert member.name == "Renamed"
    assert (member.is_staff, member.is_superuser) == (False, False)
    assert not member.groups.exists() and not member.user_permissions.exists()


def test_a_manager_cannot_touch_a_superusers_account_or_password(manager_client):
    from tests.factories import UserFactory

    root = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)

    change = manager_client.post(USER_CHANGE.format(root.pk), _user_form(root, is_active=""))
    password = manager_client.post(
        f"/admin/affiliates/user/{root.pk}/password/",
        {"password1": "taken-over-123", "password2": "taken-over-123", "usable_password": "true"},
    )
    delete = manager_client.post(f"/admin/affiliates/user/{root.pk}/delete/", {"post": "yes"})

    assert (change.status_code, password.status_code, delete.status_code) == (403, 403, 403)
    root.refresh_from_db()
    assert root.is_active and root.check_password("pass-1234-word")


def test_a_manager_adding_an_account_cannot_make_it_staff(manager_client):
    from affiliates.models import User

    manager_client.post(
        "/admin/affiliates/user/add/",
        {
            "email": "new@example.org",
            "password1": "a-long-pass-phrase-1",
            "password2": "a-long-pass-phrase-1",
            "usable_password": "true",
            "is_staff": "on",
            "is_superuser": "on",
        },
    )

    new = User.objects.get(email="new@example.org")
    assert (new.is_staff, new.is_superuser) == (False, False)


def test_groups_are_for_superusers_only(manager_client, admin_client):
    from django.contrib.auth.models import Permission

    group = Group.objects.get(name=PROGRAM_MANAGER)
    every = list(Permission.objects.values_list("pk", flat=True))
    count = group.permissions.count()

    listing = manager_client.get("/admin/auth/group/")
    add = manager_client.post("/admin/auth/group/add/", {"name": "Root", "permissions": every})
    change = manager_client.post(
        f"/admin/auth/group/{group.pk}/change/", {"name": group.name, "permissions": every}
    )
    index = manager_client.get("/admin/")

    assert (listing.status_code, add.status_code, change.status_code) == (403, 403, 403)
    assert b"/admin/auth/group/" not in index.content
    assert not Group.objects.filter(name="Root").exists()
    assert group.permissions.count() == count
    assert admin_client.get("/admin/auth/group/").status_code == 200


def test_a_superuser_still_manages_staff_accounts(admin_client):
    from tests.factories import UserFactory

    person = UserFactory(email="new-staff@example.com")
    group = Group.objects.get(name=SUPPORT)

    response = admin_client.post(
        USER_CHANGE.format(person.pk), _user_form(person, is_staff="on", groups=[group.pk])
    )

    assert response.status_code == 302, response.content
    person.refresh_from_db()
    assert person.is_staff and list(person.groups.all()) == [group]


# --- API keys in admin ------------------------------------------------------------------


def test_adding_an_api_key_in_admin_creates_a_working_key_shown_once(manager_client):
    import re

    from affiliates.models import ApiKey
    from affiliates.selectors import hash_api_key

    page = manager_client.get("/admin/affiliates/apikey/add/")
    created = manager_client.post("/admin/affiliates/apikey/add/", {"name": "billing"})

    assert page.status_code == 200 and b'name="hashed_key"' not in page.content
    assert created.status_code == 200
    raw = re.search(rb'id="raw-key"[^>]*>(amb_[^<]+)<', created.content).group(1).decode()
    key = ApiKey.objects.get()
    assert (key.name, key.hashed_key, key.prefix) == ("billing", hash_api_key(raw), raw[:12])
    assert "no-store" in created["Cache-Control"]
    # It authenticates, and no admin page shows it again.
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/affiliates").status_code == 200
    for url in ("/admin/affiliates/apikey/", f"/admin/affiliates/apikey/{key.pk}/change/"):
        assert raw.encode() not in manager_client.get(url).content


def test_a_key_revoked_in_admin_stops_working(manager_client, api, api_key):
    from affiliates.models import ApiKey

    key = ApiKey.objects.get()

    manager_client.post(
        "/admin/affiliates/apikey/", {"action": "revoke_selected", "_selected_action": [key.pk]}
    )

    assert ApiKey.objects.get().revoked_at is not None
    assert api.get("/api/v1/affiliates").status_code == 401
