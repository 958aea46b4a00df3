"""DATABASE_REPLICA_URL: dashboard pages and their CSVs read the replica, the ledger's writes
and the money jobs stay on the primary, and nothing is ever written to the replica.

The replica alias is a test mirror of the default database (settings: TEST MIRROR), a second
connection to the same PostgreSQL database: the data the test commits is there, and
CaptureQueriesContext on each connection shows which one a query really went to. Mirrors see
committed rows only, hence transactional tests. Without a replica (SQLite, or PostgreSQL
without DATABASE_REPLICA_URL) the routing tests skip; CI's PostgreSQL leg sets it.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import pytest
from django.conf import settings
from django.db import connections, router, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from affiliates.models import Affiliate
from commissions.models import CommissionEntry
from commissions.tasks import approve_due_commissions_task
from config.db_router import PIN_COOKIE, replica_reads
from payouts.tasks import run_payouts_task
from tests.config.test_settings import _settings_in_subprocess
from tests.factories import AffiliateFactory, CommissionEntryFactory, ReferralFactory, UserFactory
from tracking.models import DailyStat
from tracking.tasks import flush_clicks_task, refresh_rollups_task

needs_replica = pytest.mark.skipif(
    "replica" not in settings.DATABASES, reason="no replica configured (DATABASE_REPLICA_URL)"
)
on_both = pytest.mark.django_db(transaction=True, databases=["default", "replica"])
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|TRUNCATE|CREATE|ALTER|DROP)\b", re.I)
TABLE = re.compile(r'FROM "([a-z_]+)"')
LOGIN_TABLE = re.compile(r"django_session|affiliates_user(_groups|_user_permissions)?|auth_\w+")


class Queries:
    """The SQL each connection ran inside the block."""

    def __enter__(self) -> Queries:
        self._primary = CaptureQueriesContext(connections["default"]).__enter__()
        self._replica = CaptureQueriesContext(connections["replica"]).__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._replica.__exit__(*exc)
        self._primary.__exit__(*exc)

    @property
    def primary(self) -> list[str]:
        return [q["sql"] for q in self._primary.captured_queries]

    @property
    def replica(self) -> list[str]:
        return [q["sql"] for q in self._replica.captured_queries]


def tables(queries: list[str]) -> set[str]:
    return {t for sql in queries for t in TABLE.findall(sql)}


def login_machinery(table: str) -> bool:
    """Sessions, the user and its permissions: always read on the primary."""
    return bool(LOGIN_TABLE.fullmatch(table))


@pytest.fixture
def affiliate(db):
    affiliate = AffiliateFactory(username="rhea")
    referral = ReferralFactory(affiliate=affiliate, customer_id="cus-rhea-1")
    CommissionEntryFactory(
        affiliate=affiliate, source_id=f"payment-{referral.pk}", amount=1234, currency="USD"
    )
    return affiliate


@pytest.fixture
def browser(client, affiliate):
    client.force_login(affiliate.user)  # the session is written on the primary
    return client


def test_the_setting_adds_the_alias_as_a_test_mirror_the_router_and_the_pin():
    # Read in a fresh process, as a deployment would: runs on SQLite too.
    result = _settings_in_subprocess(
        {
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/primary",
            "DATABASE_REPLICA_URL": "postgres://reader@10.0.0.2:5432/primary",
        },
        "repr(([settings.DATABASES['replica'][k] for k in ('HOST', 'USER', 'CONN_MAX_AGE')], settings.DATABASES['replica']['TEST']['MIRROR'],"
        "settings.DATABASE_ROUTERS, settings.MIDDLEWARE[-1]))",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "(['10.0.0.2', 'reader', 600], 'default', "
        "['config.db_router.ReplicaRouter'], 'config.db_router.PinPrimaryMiddleware')"
    )


@needs_replica
@on_both
def test_dashboard_pages_and_csvs_read_the_replica_and_write_nothing_there(browser, affiliate):
    pages = [
        "/dashboard/",
        "/dashboard/referrals/",
        "/dashboard/commissions/",
        "/dashboard/payouts/",
        "/dashboard/links/",
        "/dashboard/creatives/",
        "/",
    ]
    with Queries() as q:
        for url in pages:
            assert browser.get(url).status_code == 200, url
    with Queries() as streamed:
        # Streamed: its rows are read while the body is iterated, after the view returned.
        response = browser.get("/dashboard/commissions.csv")
        body = b"".join(response.streaming_content).decode()

    assert {"affiliates_affiliate", "tracking_referral", "commissions_commissionentry"} <= tables(
        q.replica
    )
    assert "12.34" in body  # the entry of 1234 minor units, read from the replica
    assert "commissions_commissionentry" in tables(streamed.replica)
    assert "commissions_commissionentry" not in tables(streamed.primary)
    # The primary served only the login machinery: the session and the user.
    assert all(login_machinery(t) for t in tables(q.primary)), q.primary
    assert not [sql for sql in q.replica + streamed.replica if WRITE.match(sql)]
    assert not any(login_machinery(t) for t in tables(q.replica))


@needs_replica
@on_both
def test_program_pages_and_csvs_read_the_replica(client, affiliate):
    today = timezone.now().astimezone(UTC).date()
    DailyStat.objects.create(affiliate=affiliate, day=today, clicks=7, unique_clicks=5)
    client.force_login(UserFactory(email="staff@example.com", is_staff=True))

    with Queries() as q:
        assert client.get("/dashboard/program/").status_code == 200
        csv = client.get("/dashboard/program/affiliates.csv")

    assert csv.status_code == 200 and "rhea,7,5," in csv.content.decode()
    assert "affiliates_affiliate" in tables(q.replica)
    assert all(login_machinery(t) for t in tables(q.primary)), q.primary
    assert not [sql for sql in q.replica if WRITE.match(sql)]


@needs_replica
@on_both
def test_the_settings_page_and_its_post_redirect_stay_on_the_primary(browser, affiliate):
    with Queries() as q:
        response = browser.post(
            "/settings/", {"action": "username", "username": "rhea-two"}, follow=True
        )

    assert response.status_code == 200 and "rhea-two" in response.content.decode()
    assert q.replica == []
    # The browser that posted is pinned to the primary: its next dashboard page reads the
    # new name where it was written, however far a real replica lags.
    assert PIN_COOKIE in response.cookies or PIN_COOKIE in browser.cookies
    with Queries() as q:
        page = browser.get("/dashboard/")
    assert "rhea-two" in page.content.decode()
    assert q.replica == []
    # Once the pin has expired (the cookie's max-age), dashboard reads go back to the replica.
    del browser.cookies[PIN_COOKIE]
    with Queries() as q:
        browser.get("/dashboard/")
    assert "affiliates_affiliate" in tables(q.replica)


@needs_replica
@on_both
def test_the_ledger_writes_and_the_money_jobs_run_on_the_primary(api, affiliate, now):
    ReferralFactory(affiliate=affiliate, customer_id="cus-api-1")
    due = CommissionEntryFactory(
        affiliate=affiliate, approve_after=timezone.now() - timedelta(days=1)
    )

    with Queries() as q:
        # Ingest: a payment through the API becomes a ledger entry in the request.
        paid = api.post(
            "/api/v1/payments",
            {
                "payment_id": "pay-replica-1",
                "customer_id": "cus-api-1",
                "amount": 4000,
                "currency": "USD",
                "paid_at": (timezone.now() - timedelta(hours=1)).isoformat(),
            },
            format="json",
        )
        approve_due_commissions_task()
        run_payouts_task()
        flush_clicks_task()
        refresh_rollups_task()

    # 4000 × 50 % = 2000: the default plan's first tier on a first payment.
    assert paid.status_code == 201, paid.content
    assert [c["amount"] for c in paid.json()["commissions"]] == [2000]
    due.refresh_from_db()
    assert due.state == CommissionEntry.State.APPROVED
    assert any(WRITE.match(sql) for sql in q.primary)
    assert q.replica == []


@needs_replica
@on_both
def test_inside_a_replica_view_a_transaction_and_a_write_pull_reads_to_the_primary(affiliate):
    seen: dict[str, str] = {}

    @replica_reads
    def view(request):
        seen["plain"] = router.db_for_read(Affiliate)
        with transaction.atomic():
            seen["atomic"] = router.db_for_read(Affiliate)
        loaded = Affiliate.objects.get(pk=affiliate.pk)
        seen["loaded_from"] = loaded._state.db
        seen["write"] = router.db_for_write(Affiliate, instance=loaded)
        seen["before_write"] = router.db_for_read(Affiliate)
        Affiliate.objects.filter(pk=-1).update(username="nobody")  # an UPDATE, of no row
        seen["after_write"] = router.db_for_read(Affiliate)
        return HttpResponse("ok")

    request = RequestFactory().get("/dashboard/")
    view(request)
    seen["outside"] = router.db_for_read(Affiliate)

    assert seen == {
        "plain": "replica",
        "atomic": "default",  # its own writes and locks are on the primary only
        "loaded_from": "replica",
        "write": "default",  # a replica-read object is saved to the primary
        "before_write": "replica",
        "after_write": "default",  # read-your-writes for the rest of the request
        "outside": "default",
    }
    assert router.allow_migrate("replica", "commissions") is False
    assert router.allow_migrate("default", "commissions") is True


@needs_replica
@on_both
def test_a_post_to_a_replica_view_and_the_login_machinery_read_the_primary(affiliate):
    @replica_reads
    def view(request):
        return HttpResponse(
            " ".join(router.db_for_read(m) for m in (Affiliate, type(affiliate.user)))
        )

    assert view(RequestFactory().post("/x/")).content == b"default default"
    assert view(RequestFactory().get("/x/")).content == b"replica default"
