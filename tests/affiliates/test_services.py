"""Affiliate services: applications, status transitions, usernames, commands."""

from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from affiliates import services
from affiliates.models import Affiliate, AuditLog, Username
from affiliates.selectors import resolve_username
from config.errors import Conflict, ServiceError
from tests.factories import AffiliateFactory, UserFactory

pytestmark = pytest.mark.django_db
Status = Affiliate.Status


def test_create_affiliate_refuses_a_reserved_username_and_saves_nothing(now):
    with pytest.raises(ServiceError) as exc:
        services.create_affiliate(email="x@example.org", username="admin", now=now)

    assert "reserved" in exc.value.message
    assert exc.value.fields == {"username": [exc.value.message]}
    assert not Affiliate.objects.exists()


@pytest.mark.parametrize(
    ("username", "rule"), [("api", "reserved"), ("a/b", "only letters"), ("bob", "taken")]
)
def test_create_affiliate_command_exits_non_zero_naming_the_rule(username, rule):
    AffiliateFactory(username="bob")

    with pytest.raises(CommandError, match=rule):
        call_command(
            "create_affiliate", "new@example.org", username, stdout=StringIO(), stderr=StringIO()
        )

    assert not Affiliate.objects.filter(user__email="new@example.org").exists()


def test_an_application_waits_for_an_admin_and_is_acknowledged_by_mail(
    now, django_capture_on_commit_callbacks
):
    user = UserFactory(email="new@example.org")

    with django_capture_on_commit_callbacks(execute=True):
        affiliate = services.submit_application(
            user=user, username="NewPerson", accepted_terms=True, website="https://x.test", now=now
        )

    assert affiliate.status == Status.APPLIED
    assert affiliate.username == "newperson"
    assert affiliate.terms_accepted_at == now
    assert list(affiliate.usernames.values_list("name", flat=True)) == ["newperson"]
    assert [m.to for m in mail.outbox] == [["new@example.org"]]
    assert "received your application" in mail.outbox[0].subject


def test_an_application_without_accepting_the_terms_is_refused(now):
    user = UserFactory()

    with pytest.raises(ServiceError) as exc:
        services.submit_application(user=user, username="someone", accepted_terms=False, now=now)

    assert "accept_terms" in exc.value.fields
    assert not Affiliate.objects.exists()


def test_a_paying_customer_is_approved_at_once_when_the_setting_is_on(
    now, settings, django_capture_on_commit_callbacks
):
    settings.AUTO_APPROVE_PAYING_CUSTOMERS = True

    with django_capture_on_commit_callbacks(execute=True):
        affiliate = services.submit_application(
            user=UserFactory(),
            username="payer",
            accepted_terms=True,
            is_paying_customer=True,
            now=now,
        )

    assert affiliate.status == Status.APPROVED
    assert affiliate.approved_at == now
    assert "approved" in mail.outbox[-1].subject


def test_a_paying_customer_waits_when_the_setting_is_off(now, settings):
    settings.AUTO_APPROVE_PAYING_CUSTOMERS = False

    affiliate = services.submit_application(
        user=UserFactory(), username="payer", accepted_terms=True, is_paying_customer=True, now=now
    )

    assert affiliate.status == Status.APPLIED


def test_marking_an_applicant_as_paying_customer_approves_it(now, settings):
    settings.AUTO_APPROVE_PAYING_CUSTOMERS = True
    affiliate = AffiliateFactory(status=Status.APPLIED, approved_at=None)

    affiliate = services.mark_paying_customer(affiliate=affiliate, now=now)

    assert affiliate.status == Status.APPROVED and affiliate.is_paying_customer


def test_approval_stamps_the_time_writes_the_audit_log_and_mails_the_affiliate(
    now, django_capture_on_commit_callbacks
):
    affiliate = AffiliateFactory(status=Status.APPLIED, approved_at=None)
    admin = UserFactory(is_staff=True)

    with django_capture_on_commit_callbacks(execute=True):
        services.approve_affiliate(affiliate=affiliate, now=now, actor=admin)

    affiliate.refresh_from_db()
    assert affiliate.status == Status.APPROVED and affiliate.approved_at == now
    log = AuditLog.objects.get(action="affiliate.approved")
    assert (log.actor, log.affiliate, log.at) == (admin, affiliate, now)
    assert mail.outbox[-1].to == [affiliate.user.email]


def test_the_full_status_cycle_follows_the_transition_table(now):
    affiliate = AffiliateFactory(status=Status.APPLIED, approved_at=None)

    services.approve_affiliate(affiliate=affiliate, now=now)
    services.suspend_affiliate(affiliate=affiliate, now=now, note="ads on brand")
    suspended = Affiliate.objects.get(pk=affiliate.pk)
    services.reinstate_affiliate(affiliate=affiliate, now=now)

    assert suspended.status == Status.SUSPENDED and suspended.suspended_at == now
    assert suspended.status_note == "ads on brand"
    assert Affiliate.objects.get(pk=affiliate.pk).status == Status.APPROVED


@pytest.mark.parametrize(
    ("status", "service"),
    [
        (Status.APPROVED, services.approve_affiliate),
        (Status.APPROVED, services.reject_affiliate),
        (Status.APPLIED, services.suspend_affiliate),
        (Status.APPROVED, services.reinstate_affiliate),
        (Status.REJECTED, services.suspend_affiliate),
    ],
)
def test_a_transition_from_a_wrong_status_is_refused_and_changes_nothing(now, status, service):
    affiliate = AffiliateFactory(status=status)

    with pytest.raises(Conflict):
        service(affiliate=affiliate, now=now)

    assert Affiliate.objects.get(pk=affiliate.pk).status == status
    assert not AuditLog.objects.exists()
    assert not mail.outbox


def test_a_status_change_refreshes_the_cached_resolution_of_every_username(
    now, django_capture_on_commit_callbacks
):
    affiliate = AffiliateFactory(username="first-name")
    services.change_username(affiliate=affiliate, new_username="second-name", now=now)
    assert resolve_username("first-name").is_approved  # now cached
    assert resolve_username("second-name").is_approved

    with django_capture_on_commit_callbacks(execute=True):
        services.suspend_affiliate(affiliate=affiliate, now=now)

    assert resolve_username("first-name").status == Status.SUSPENDED
    assert resolve_username("second-name").status == Status.SUSPENDED


def test_changing_the_username_keeps_the_old_one_as_an_alias(
    now, django_capture_on_commit_callbacks
):
    affiliate = AffiliateFactory(username="oldname")
    assert resolve_username("oldname").username == "oldname"  # cached with the old current name

    with django_capture_on_commit_callbacks(execute=True):
        services.change_username(affiliate=affiliate, new_username="NewName", now=now)

    affiliate.refresh_from_db()
    assert affiliate.username == "newname"
    old = Username.objects.get(name="oldname")
    assert old.affiliate == affiliate and old.retired_at == now
    assert Username.objects.get(name="newname").retired_at is None
    assert resolve_username("oldname").username == "newname"
    assert resolve_username("newname").public_id == affiliate.public_id


def test_an_alias_can_never_be_taken_by_someone_else(now):
    first = AffiliateFactory(username="oldname")
    services.change_username(affiliate=first, new_username="newname", now=now)
    other = AffiliateFactory(username="someone")

    with pytest.raises(ServiceError, match="taken"):
        services.change_username(affiliate=other, new_username="oldname", now=now)
    with pytest.raises(ServiceError, match="taken"):
        services.create_affiliate(email="z@example.org", username="oldname", now=now)

    assert resolve_username("oldname").id == first.pk


def test_an_affiliate_may_return_to_its_own_earlier_username(now):
    affiliate = AffiliateFactory(username="oldname")
    services.change_username(affiliate=affiliate, new_username="newname", now=now)

    services.change_username(affiliate=affiliate, new_username="oldname", now=now)

    affiliate.refresh_from_db()
    assert affiliate.username == "oldname"
    assert dict(affiliate.usernames.values_list("name", "retired_at")) == {
        "oldname": None,
        "newname": now,
    }


def test_a_refused_username_change_saves_nothing(now):
    affiliate = AffiliateFactory(username="keepme")

    with pytest.raises(ServiceError, match="reserved"):
        services.change_username(affiliate=affiliate, new_username="admin", now=now)

    affiliate.refresh_from_db()
    assert affiliate.username == "keepme"
    assert list(affiliate.usernames.values_list("name", flat=True)) == ["keepme"]


def test_impersonation_by_support_is_refused_and_not_logged(now, support):
    affiliate = AffiliateFactory()

    with pytest.raises(ServiceError) as exc:
        services.start_impersonation(actor=support, affiliate=affiliate, now=now)

    assert exc.value.status == 403
    assert not AuditLog.objects.exists()


def test_a_staff_account_cannot_be_impersonated(now, manager):
    staff_affiliate = AffiliateFactory(user=UserFactory(is_staff=True))

    with pytest.raises(ServiceError):
        services.start_impersonation(actor=manager, affiliate=staff_affiliate, now=now)


# --- rename limit ---------------------------------------------------------------------------


def test_renames_are_limited_per_period_and_a_refused_one_changes_nothing(now, settings):
    from datetime import timedelta

    settings.USERNAME_CHANGE_LIMIT, settings.USERNAME_CHANGE_PERIOD_DAYS = 3, 30
    affiliate = AffiliateFactory(username="squat0")
    # Three renames over two days are allowed (day 0, 1, 2).
    for day, name in enumerate(["squat1", "squat2", "squat3"]):
        services.change_username(
            affiliate=affiliate, new_username=name, now=now + timedelta(days=day)
        )

    with pytest.raises(ServiceError) as refused:
        services.change_username(
            affiliate=affiliate, new_username="squat4", now=now + timedelta(days=3)
        )

    assert refused.value.code == "rename_limit"
    # The first of the three (day 0) leaves the 30-day window on day 30.
    assert (now + timedelta(days=30)).strftime("%Y-%m-%d") in refused.value.message
    affiliate.refresh_from_db()
    assert affiliate.username == "squat3"
    assert not Username.objects.filter(name="squat4").exists()
    # Day 30 + 1 s: the day-0 rename no longer counts; two do, so one more is allowed.
    later = now + timedelta(days=30, seconds=1)
    services.change_username(affiliate=affiliate, new_username="squat4", now=later)
    with pytest.raises(ServiceError, match="next change"):
        services.change_username(affiliate=affiliate, new_username="squat5", now=later)


def test_returning_to_an_own_alias_counts_as_a_rename(now, settings):
    settings.USERNAME_CHANGE_LIMIT = 2
    affiliate = AffiliateFactory(username="one")
    services.change_username(affiliate=affiliate, new_username="two", now=now)
    services.change_username(affiliate=affiliate, new_username="one", now=now)

    with pytest.raises(ServiceError, match="2 times in 30 days"):
        services.change_username(affiliate=affiliate, new_username="two", now=now)


# --- API keys -------------------------------------------------------------------------------


def test_last_used_at_is_written_at_most_once_a_minute(now):
    from datetime import timedelta

    from affiliates.models import ApiKey

    key, _ = services.create_api_key(name="billing", now=now)

    first = services.touch_api_key(key=key, now=now)
    soon = services.touch_api_key(
        key=ApiKey.objects.get(pk=key.pk), now=now + timedelta(seconds=59)
    )
    later = services.touch_api_key(
        key=ApiKey.objects.get(pk=key.pk), now=now + timedelta(seconds=61)
    )

    assert (first, soon, later) == (True, False, True)
    assert ApiKey.objects.get(pk=key.pk).last_used_at == now + timedelta(seconds=61)


def test_two_requests_with_the_same_stale_key_write_once(now):
    from affiliates.models import ApiKey

    key, _ = services.create_api_key(name="billing", now=now)
    a, b = ApiKey.objects.get(pk=key.pk), ApiKey.objects.get(pk=key.pk)  # both read stale

    assert [services.touch_api_key(key=k, now=now) for k in (a, b)] == [True, False]
