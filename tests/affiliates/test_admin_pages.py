"""The admin people can read (issue 11): the site's name, plural names, the affiliate page's
performance and money summary with its links, the applications queue and its count on the
home, CSV exports, and the affiliates list's constant query count. Roles as deployed: the
groups the migrations create (manager_client / support_client from this folder's conftest)."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from affiliates.models import Affiliate
from commissions.models import CommissionEntry
from payouts.models import Payout, PayoutRun
from tests.factories import AffiliateFactory, CommissionEntryFactory, PayoutAccountFactory
from tracking.models import DailyStat

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/affiliates/affiliate/"
QUEUE = "/admin/affiliates/affiliate/?status__exact=applied"


def _page(affiliate) -> str:
    return f"{CHANGELIST}{affiliate.pk}/change/"


def test_the_admin_is_named_and_every_model_has_a_proper_plural(manager_client):
    home = manager_client.get("/admin/").content.decode()

    assert "Ambassador administration" in home
    assert "Commission entries" in home and "entrys" not in home
    assert "PayPal batches" in home and "API keys" in home
    # Django's default plural appends "s": "entrys", "bonuss", "batchs", "pay pal …"
    bad = re.compile(r"([^aeiou]ys|ss|[cs]hs|xs)$|pay pal|^api ")
    plurals = {str(m._meta.verbose_name_plural) for m in apps.get_models()}
    assert not [p for p in plurals if bad.search(p)]


def test_the_affiliate_page_sums_performance_from_the_rollups(manager_client):
    alice = AffiliateFactory(username="alice")
    today = timezone.now().date()
    DailyStat.objects.create(
        affiliate=alice,
        day=today,
        clicks=40,
        unique_clicks=30,
        signups=3,
        first_payments=2,
        revenue=10800,
        commission=2160,
    )
    DailyStat.objects.create(
        affiliate=alice,
        day=today - timedelta(days=60),
        clicks=10,
        unique_clicks=8,
        signups=1,
        first_payments=1,
        revenue=5000,
        commission=1000,
    )

    page = manager_client.get(_page(alice)).content.decode()

    # last 30 days · all time: clicks 40 · 40+10=50, revenue 10800 → USD 108.00 and
    # 10800+5000=15800 → USD 158.00, commission 2160 → 21.60 and 2160+1000=3160 → 31.60
    assert "40 · 50" in page and "30 · 38" in page and "3 · 4" in page and "2 · 3" in page
    assert "USD 108.00 · USD 158.00" in page
    assert "USD 21.60 · USD 31.60" in page
    assert f"/admin/tracking/referral/?affiliate={alice.pk}" in page


def test_the_affiliate_page_shows_balances_per_currency_from_the_ledger(manager_client):
    alice = AffiliateFactory(username="alice")
    CommissionEntryFactory(affiliate=alice, amount=10800, state="pending")
    CommissionEntryFactory(affiliate=alice, amount=-1250, state="pending")  # a clawback
    CommissionEntryFactory(affiliate=alice, amount=4000, state="approved", currency="EUR")
    CommissionEntryFactory(affiliate=alice, amount=999, state="declined")  # counts nowhere

    page = manager_client.get(_page(alice)).content.decode()

    # USD pending 10800 − 1250 = 9550 → USD 95.50; EUR approved 4000 → EUR 40.00
    assert "USD 95.50" in page and "EUR 40.00" in page
    assert "USD 9.99" not in page and "USD 1,055" not in page
    assert f"/admin/commissions/commissionentry/?affiliate={alice.pk}" in page
    assert f"/admin/payouts/payout/?affiliate={alice.pk}" in page


def test_the_affiliate_page_shows_its_payouts_and_support_never_the_destination(
    manager_client, support, client, now
):
    alice = AffiliateFactory(username="alice")
    account = PayoutAccountFactory(affiliate=alice, paypal_email="alice-secret@paypal.test")
    run = PayoutRun.objects.create(started_at=now, state="completed", payout_count=1)
    Payout.objects.create(
        run=run,
        affiliate=alice,
        amount=19065,
        currency="USD",
        method="paypal",
        destination="alice-secret@paypal.test",
        state="paid",
        idempotency_key="k1",
        created_at=now,
    )

    manager_page = manager_client.get(_page(alice)).content.decode()
    client.force_login(support)
    support_page = client.get(_page(alice)).content.decode()

    for page in (manager_page, support_page):
        assert "Paid out" in page and "USD 190.65" in page  # 19065 cents
    assert f"/admin/payouts/payoutaccount/{account.pk}/change/" in manager_page
    assert f"/admin/payouts/payoutaccount/{account.pk}/" not in support_page
    assert "alice-secret@paypal.test" not in support_page


def test_the_affiliate_page_shows_rates_and_thresholds_as_percent_and_money(manager_client):
    alice = AffiliateFactory(commission_override_bp=2500, payout_threshold=2000)

    page = manager_client.get(_page(alice)).content.decode()

    assert "25 % of every payment" in page and "USD 20.00" in page


def test_the_plans_list_reads_rates_and_bounty_as_percent_and_money(manager_client):
    page = manager_client.get("/admin/affiliates/plan/").content.decode()

    # the installed default plan: 25 cents per signup, 5000 bp first, 2000 bp recurring
    assert "USD 0.25" in page and "50 %" in page and "20 %" in page
    assert ">5000<" not in page and ">2000<" not in page


# --- the applications queue ----------------------------------------------------------


def test_the_admin_home_counts_waiting_applications_and_links_the_queue(manager_client):
    AffiliateFactory.create_batch(3, status=Affiliate.Status.APPLIED, approved_at=None)
    AffiliateFactory(status=Affiliate.Status.APPROVED)

    home = manager_client.get("/admin/").content.decode()

    assert "<strong>3</strong> applications waiting" in home
    assert 'href="/admin/affiliates/affiliate/?status__exact=applied"' in home


def test_the_queue_lists_applicants_oldest_first_with_what_they_wrote(manager_client):
    now = timezone.now()
    newer = AffiliateFactory(
        username="newer", status="applied", applied_at=now, promotion="My cooking blog"
    )
    older = AffiliateFactory(username="older", status="applied", applied_at=now - timedelta(days=2))
    AffiliateFactory(username="already-in")

    page = manager_client.get(QUEUE).content.decode()

    assert "Applications waiting for review" in page
    assert page.index(older.username) < page.index(newer.username)
    assert "My cooking blog" in page and "already-in" not in page


def test_approving_and_rejecting_from_the_queue_go_through_the_services(
    manager_client, django_capture_on_commit_callbacks
):
    yes = AffiliateFactory(status="applied", approved_at=None)
    no = AffiliateFactory(status="applied", approved_at=None)

    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(QUEUE, {"action": "approve_selected", "_selected_action": [yes.pk]})
        manager_client.post(QUEUE, {"action": "reject_selected", "_selected_action": [no.pk]})

    yes.refresh_from_db()
    no.refresh_from_db()
    assert (yes.status, no.status) == ("approved", "rejected")
    assert sorted(m.to[0] for m in mail.outbox) == sorted([yes.user.email, no.user.email])
    home = manager_client.get("/admin/").content.decode()
    assert "No applications waiting" in home


def test_support_sees_the_count_but_cannot_act_on_the_queue(support_client):
    waiting = AffiliateFactory(status="applied", approved_at=None)

    home = support_client.get("/admin/").content.decode()
    support_client.post(QUEUE, {"action": "approve_selected", "_selected_action": [waiting.pk]})

    assert "<strong>1</strong> application waiting" in home
    assert Affiliate.objects.get(pk=waiting.pk).status == "applied"


# --- CSV export ------------------------------------------------------------------------


def test_a_manager_exports_affiliates_as_formula_safe_csv(manager_client):
    a = AffiliateFactory(username="plain", payout_threshold=2000)
    b = AffiliateFactory(username="evil", website="https://x.test", status_note="")
    Affiliate.objects.filter(pk=b.pk).update(audience="=HYPERLINK(1)")
    b.user.email = "=cmd@x.test"
    b.user.save()

    response = manager_client.post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [a.pk, b.pk]}
    )

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_name = {r["username"]: r for r in rows}
    assert by_name["plain"]["payout_threshold"] == "20.00"  # 2000 cents
    assert by_name["plain"]["currency"] == "USD"
    assert by_name["evil"]["email"] == "'=cmd@x.test"


def test_support_has_no_export_action(support_client):
    page = support_client.get(CHANGELIST).content.decode()

    assert "export_csv" not in page


# --- query counts ----------------------------------------------------------------------


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("url", [CHANGELIST, QUEUE])
def test_the_affiliates_list_costs_the_same_with_2_and_20_rows(
    manager_client, url, django_assert_max_num_queries
):
    status = "applied" if "status" in url else "approved"
    AffiliateFactory.create_batch(2, status=status)
    two = _count_queries(manager_client, url)
    AffiliateFactory.create_batch(18, status=status)

    with django_assert_max_num_queries(two):
        page = manager_client.get(url)

    assert page.content.decode().count('name="_selected_action"') == 20


def test_the_affiliate_page_costs_the_same_with_few_and_many_entries(
    manager_client, django_assert_max_num_queries
):
    alice = AffiliateFactory()
    CommissionEntryFactory.create_batch(2, affiliate=alice)
    two = _count_queries(manager_client, _page(alice))
    CommissionEntryFactory.create_batch(18, affiliate=alice, state=CommissionEntry.State.APPROVED)

    with django_assert_max_num_queries(two):
        manager_client.get(_page(alice))
