"""Automatic perks: early access for affiliates active in the last 30 days (a click or a new
referral), two-weekly payouts when last month's sales pass TWO_WEEKLY_PAYOUT_SALES; both
also set by hand, and a value set by hand is never undone by the jobs."""

from datetime import UTC, date, datetime, timedelta

import pytest

from affiliates.models import Affiliate, AuditLog
from commissions import rules
from commissions.services import perks
from commissions.tasks import grant_two_weekly_payouts_task, refresh_early_access_task
from config.celery import app
from payouts import services as payout_services
from payouts.models import Payout
from tests.admin_forms import change_form_data
from tests.commissions.conftest import pay
from tests.factories import (
    AffiliateFactory,
    CommissionEntryFactory,
    PayoutAccountFactory,
    ReferralFactory,
)
from tracking.models import DailyStat

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 1, 27, tzinfo=UTC)  # the daily job's time
FIRST = datetime(2026, 12, 1, 11, 37, tzinfo=UTC)  # the monthly job's time
TWO_WEEKLY = Affiliate.Frequency.TWO_WEEKLY
MONTHLY = Affiliate.Frequency.MONTHLY


def clicks(affiliate, day: date, n: int = 3) -> None:
    DailyStat.objects.create(affiliate=affiliate, day=day, clicks=n, unique_clicks=n)


def fresh(affiliate) -> Affiliate:
    return Affiliate.objects.get(pk=affiliate.pk)


# --- early access ---------------------------------------------------------------------


def test_early_access_goes_to_affiliates_with_a_click_or_a_referral_in_30_days():
    # given: a click 29 days ago; a referral 5 days ago; only clicks 31 days ago; nothing;
    # a suspended affiliate with clicks today; an automatic holder no longer active
    clicker, referrer, lapsed, idle = (AffiliateFactory() for _ in range(4))
    suspended = AffiliateFactory(status=Affiliate.Status.SUSPENDED)
    former = AffiliateFactory(early_access=True)
    clicks(clicker, (NOW - timedelta(days=29)).date())
    ReferralFactory(affiliate=referrer, created_at=NOW - timedelta(days=5))
    ReferralFactory(affiliate=lapsed, created_at=NOW - timedelta(days=31))
    clicks(lapsed, (NOW - timedelta(days=31)).date())
    clicks(suspended, NOW.date())

    # when the daily job runs
    result = perks.refresh_early_access(now=NOW)

    # then the two active approved ones have it, the former holder lost it
    assert [fresh(a).early_access for a in (clicker, referrer, lapsed, idle, suspended)] == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert fresh(former).early_access is False
    assert sorted(result.granted) == sorted([clicker.pk, referrer.pk])
    assert result.withdrawn == [former.pk]
    reasons = dict(
        AuditLog.objects.filter(action="perk.granted").values_list("affiliate", "details__reason")
    )
    assert reasons == {clicker.pk: "a click", referrer.pk: "a new referral"}


def test_the_early_access_job_is_idempotent():
    alice = AffiliateFactory()
    clicks(alice, NOW.date())
    perks.refresh_early_access(now=NOW)

    again = perks.refresh_early_access(now=NOW + timedelta(minutes=5))

    assert again.counts() == {"granted": 0, "withdrawn": 0, "failed": 0}
    assert AuditLog.objects.filter(action__startswith="perk.").count() == 1
    assert fresh(alice).early_access is True


def test_early_access_set_by_hand_is_never_undone_by_the_job():
    # given one granted by hand while idle, one refused by hand while active
    granted = AffiliateFactory(early_access=True, early_access_by_hand=True)
    refused = AffiliateFactory(early_access=False, early_access_by_hand=True)
    clicks(refused, NOW.date())

    perks.refresh_early_access(now=NOW)

    assert fresh(granted).early_access is True
    assert fresh(refused).early_access is False
    assert not AuditLog.objects.filter(action__startswith="perk.").exists()


def test_one_bad_affiliate_does_not_stop_the_job_for_the_others(monkeypatch):
    # given three active affiliates, the second of which fails to write
    first, bad, last = AffiliateFactory(), AffiliateFactory(), AffiliateFactory()
    for a in (first, bad, last):
        clicks(a, NOW.date())
    real_create = AuditLog.objects.create

    def failing_create(**kwargs):
        if kwargs.get("affiliate_id") == bad.pk:
            raise RuntimeError("boom")
        return real_create(**kwargs)

    monkeypatch.setattr(AuditLog.objects, "create", failing_create)

    # when the job runs
    result = perks.refresh_early_access(now=NOW)

    # then the others got it; the bad one's change was rolled back whole and is retried
    assert (fresh(first).early_access, fresh(bad).early_access, fresh(last).early_access) == (
        True,
        False,
        True,
    )
    assert result.failed == [bad.pk]
    monkeypatch.undo()
    assert perks.refresh_early_access(now=NOW).granted == [bad.pk]


def test_a_manager_setting_early_access_in_admin_marks_it_by_hand(manager_client):
    # given an idle affiliate
    alice = AffiliateFactory()
    url = f"/admin/affiliates/affiliate/{alice.pk}/change/"
    data = change_form_data(manager_client.get(url))

    # when a manager ticks early access
    data["early_access"] = "on"
    response = manager_client.post(url, data)

    # then it is set by hand, and the daily job (alice is idle) leaves it
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert (fresh(alice).early_access, fresh(alice).early_access_by_hand) == (True, True)
    perks.refresh_early_access(now=NOW)
    assert fresh(alice).early_access is True


def test_clearing_the_by_hand_flag_hands_early_access_back_to_the_job(manager_client):
    alice = AffiliateFactory(early_access=True, early_access_by_hand=True)
    url = f"/admin/affiliates/affiliate/{alice.pk}/change/"
    data = change_form_data(manager_client.get(url))
    data.pop("early_access_by_hand")  # unticked

    assert manager_client.post(url, data).status_code == 302
    perks.refresh_early_access(now=NOW)

    assert (fresh(alice).early_access, fresh(alice).early_access_by_hand) == (False, False)


# --- GET /api/v1/affiliates?early_access=1 --------------------------------------------


def test_the_affiliates_api_filters_on_early_access(api):
    yes = AffiliateFactory(early_access=True)
    no = AffiliateFactory()

    with_it = api.get("/api/v1/affiliates?early_access=1")
    without = api.get("/api/v1/affiliates?early_access=0")
    everyone = api.get("/api/v1/affiliates")

    assert [a["public_id"] for a in with_it.json()["results"]] == [yes.public_id]
    assert with_it.json()["results"][0]["early_access"] is True
    assert [a["public_id"] for a in without.json()["results"]] == [no.public_id]
    assert len(everyone.json()["results"]) == 2


def test_a_bad_early_access_value_is_a_400_json_error(api):
    response = api.get("/api/v1/affiliates?early_access=maybe")

    assert response.status_code == 400
    assert "early_access" in response.json()["error"]["fields"]


def test_staff_sessions_read_the_early_access_list_and_anonymous_callers_do_not(
    support_client,
):
    from django.test import Client

    yes = AffiliateFactory(early_access=True)

    staff = support_client.get("/api/v1/affiliates?early_access=1")
    anonymous = Client().get("/api/v1/affiliates?early_access=1")

    assert staff.status_code == 200
    assert [a["public_id"] for a in staff.json()["results"]] == [yes.public_id]
    assert anonymous.status_code in (401, 403)


# --- two-weekly payouts ---------------------------------------------------------------


def november_sales(affiliate, amount: int, *, employee=None) -> None:
    referral = ReferralFactory(affiliate=affiliate, employee=employee)
    pay(
        referral,
        external_id=f"nov-{referral.pk}",
        amount=amount,
        paid_at=datetime(2026, 11, 10, tzinfo=UTC),
    )


def test_two_weekly_payouts_go_to_affiliates_whose_last_month_passed_1000_dollars():
    # given November sales: $1,000.01 (passes); exactly $1,000.00 (does not pass);
    # $600.00 + $400.01 in two customers (= $1,000.01, passes); an employee credited with
    # a $1,500.00 customer of another affiliate (passes too, as the tiers count it)
    over, exactly, split, employee = (AffiliateFactory() for _ in range(4))
    other = AffiliateFactory()
    november_sales(over, 100_001)
    november_sales(exactly, 100_000)
    november_sales(split, 60_000)
    november_sales(split, 40_001)
    november_sales(other, 150_000, employee=employee)
    # October's $5,000.00 is not last month on December 1st
    pay(
        ReferralFactory(affiliate=exactly),
        external_id="oct",
        amount=500_000,
        paid_at=datetime(2026, 10, 10, tzinfo=UTC),
    )

    # when the monthly job runs on December 1st
    result = perks.grant_two_weekly_payouts(now=FIRST)

    # then
    frequencies = [fresh(a).payout_frequency for a in (over, exactly, split, employee, other)]
    assert frequencies == [TWO_WEEKLY, MONTHLY, TWO_WEEKLY, TWO_WEEKLY, TWO_WEEKLY]
    assert len(result.granted) == 4
    # the grouped sums are the tiers' own "last month's sales", affiliate by affiliate
    sales = perks.last_month_sales(now=FIRST)
    for a in (over, exactly, split, employee, other):
        assert sales.get(a.pk, 0) == rules.previous_month_sales(affiliate_id=a.pk, moment=FIRST)


def test_two_weekly_payouts_set_by_hand_are_never_downgraded_nor_overridden():
    # given one put on two-weekly by hand with no sales, one kept monthly by hand with $2,000
    kept = AffiliateFactory(payout_frequency=TWO_WEEKLY, payout_frequency_by_hand=True)
    refused = AffiliateFactory(payout_frequency_by_hand=True)
    november_sales(refused, 200_000)

    perks.grant_two_weekly_payouts(now=FIRST)

    assert fresh(kept).payout_frequency == TWO_WEEKLY
    assert fresh(refused).payout_frequency == MONTHLY


def test_an_automatic_grant_returns_to_monthly_when_sales_fall_and_a_rerun_changes_nothing():
    # given an automatic two-weekly affiliate with no November sales
    former = AffiliateFactory(payout_frequency=TWO_WEEKLY)

    first = perks.grant_two_weekly_payouts(now=FIRST)
    again = perks.grant_two_weekly_payouts(now=FIRST + timedelta(hours=1))

    assert fresh(former).payout_frequency == MONTHLY
    assert first.withdrawn == [former.pk]
    assert again.counts() == {"granted": 0, "withdrawn": 0, "failed": 0}


def test_a_grant_on_the_1st_is_paid_by_the_15th_run(settings):
    # given a $2,000.00 November and a $60.00 approved balance
    settings.TWO_WEEKLY_PAYOUT_SALES = 100_000
    alice = PayoutAccountFactory(affiliate=AffiliateFactory()).affiliate
    november_sales(alice, 200_000)
    perks.grant_two_weekly_payouts(now=FIRST)
    CommissionEntryFactory(affiliate=alice, amount=6000, state="approved")

    # when the mid-month run (two-weekly affiliates only) runs on December 15th
    payout_services.run_payouts(now=datetime(2026, 12, 15, 13, 7, tzinfo=UTC), two_weekly_only=True)

    # then alice is paid her approved $60.00 (November's own entries are still on hold)
    payout = Payout.objects.get(affiliate=alice)
    assert (payout.amount, payout.currency) == (6000, "USD")


def test_the_threshold_is_a_setting(settings):
    settings.TWO_WEEKLY_PAYOUT_SALES = 50_000  # $500.00
    alice = AffiliateFactory()
    november_sales(alice, 50_001)  # $500.01 > $500.00

    perks.grant_two_weekly_payouts(now=FIRST)

    assert fresh(alice).payout_frequency == TWO_WEEKLY


def test_the_tasks_are_scheduled_the_monthly_one_before_the_payout_run():
    schedule = app.conf.beat_schedule
    monthly = schedule["grant-two-weekly-payouts"]
    payouts = schedule["run-payouts-monthly"]

    assert monthly["task"] == grant_two_weekly_payouts_task.name
    assert schedule["refresh-early-access"]["task"] == refresh_early_access_task.name
    assert monthly["schedule"].day_of_month == {1}
    assert max(monthly["schedule"].hour) < min(payouts["schedule"].hour)


def test_the_command_runs_both_jobs_as_of_now():
    from io import StringIO

    from django.core.management import call_command

    alice = AffiliateFactory()
    clicks(alice, FIRST.date())
    november_sales(alice, 100_001)  # $1,000.01 > $1,000.00
    out = StringIO()

    call_command("refresh_perks", "--two-weekly", "--now", FIRST.isoformat(), stdout=out)

    assert (fresh(alice).early_access, fresh(alice).payout_frequency) == (True, TWO_WEEKLY)
    assert "two-weekly payouts: granted 1, withdrawn 0, failed 0" in out.getvalue()
