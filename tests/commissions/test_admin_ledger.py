"""The ledger in admin: entries and payments read as money and percentages, entries export as
CSV, no money record can be deleted (superusers included), constant query counts."""

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from commissions.models import (
    CommissionEntry,
    Dispute,
    Payment,
    Refund,
    StoredEvent,
)
from payouts.models import Payout, PayoutRun, PayPalBatch, PayPalEvent
from tests.factories import AffiliateFactory, CommissionEntryFactory, ReferralFactory
from tracking.models import Referral

pytestmark = pytest.mark.django_db
ENTRIES = "/admin/commissions/commissionentry/"
PAYMENTS = "/admin/commissions/payment/"
PAID = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def _payment(referral, external_id: str, amount: int, **extra) -> Payment:
    return Payment.objects.create(
        provider="api",
        external_id=external_id,
        referral=referral,
        customer_id=referral.customer_id,
        amount=amount,
        currency=extra.pop("currency", "USD"),
        paid_at=PAID,
        is_first=False,
        **extra,
    )


def test_entries_read_as_money_and_rates_as_percentages(manager_client):
    entry = CommissionEntryFactory(
        amount=2160, rate_bp=2000, base_amount=10800, rule="Default: recurring 20 %"
    )
    CommissionEntryFactory(amount=-1250, currency="EUR", kind="clawback")

    listing = manager_client.get(ENTRIES).content.decode()
    detail = manager_client.get(f"{ENTRIES}{entry.pk}/change/").content.decode()

    # 20 % (2000 bp) of 10800 cents = 2160 cents; a clawback of 1250 euro cents
    assert "USD 21.60" in listing and "20 %" in listing and "EUR -12.50" in listing
    assert "USD 21.60" in detail and "20 %" in detail and "USD 108.00" in detail
    for raw in (">2160<", ">2000<", ">10800<", ">-1250<"):
        assert raw not in listing and raw not in detail
    assert str(entry) == f"{entry.kind} USD 21.60 → {entry.affiliate_id} ({entry.state})"


def test_the_entries_list_filters_to_one_affiliate_from_its_page(manager_client):
    alice, bob = AffiliateFactory(username="alice"), AffiliateFactory(username="bob")
    CommissionEntryFactory(affiliate=alice, amount=111)
    CommissionEntryFactory(affiliate=bob, amount=222)

    page = manager_client.get(ENTRIES, {"affiliate": alice.pk}).content.decode()
    junk = manager_client.get(ENTRIES, {"affiliate": "x'; drop"})

    assert "USD 1.11" in page and "USD 2.22" not in page
    assert junk.status_code in (200, 302)  # a junk id filters nothing, never a 500


def test_payments_read_as_money(manager_client):
    referral = ReferralFactory()
    payment = _payment(
        referral, "in_1", 10800, tax=2052, refunded_amount=1250, program_amount=10800
    )

    listing = manager_client.get(PAYMENTS).content.decode()
    detail = manager_client.get(f"{PAYMENTS}{payment.pk}/change/").content.decode()

    assert "USD 108.00" in listing and "USD 12.50" in listing
    assert "USD 20.52" in detail and "USD 108.00" in detail
    # its name (the page title, breadcrumbs, other records' links) reads as money too
    assert str(payment) == "in_1 USD 108.00"


def test_a_manager_exports_entries_with_decimal_amounts(manager_client):
    one = CommissionEntryFactory(amount=2160, rate_bp=2000, base_amount=10800)
    two = CommissionEntryFactory(amount=-1250, currency="EUR", rule="=HYPERLINK(x)")

    response = manager_client.post(
        ENTRIES, {"action": "export_csv", "_selected_action": [one.pk, two.pk]}
    )

    rows = {int(r["id"]): r for r in csv.DictReader(io.StringIO(response.content.decode()))}
    assert (rows[one.pk]["amount"], rows[one.pk]["currency"]) == ("21.60", "USD")
    assert rows[one.pk]["rate_percent"] == "20 %" and rows[one.pk]["base_amount"] == "108.00"
    assert rows[two.pk]["amount"] == "-12.50"  # a plain number, left as a number
    assert rows[two.pk]["rule"] == "'=HYPERLINK(x)"


def test_support_cannot_export_entries(support_client):
    entry = CommissionEntryFactory()

    listing = support_client.get(ENTRIES)
    response = support_client.post(
        ENTRIES, {"action": "export_csv", "_selected_action": [entry.pk]}
    )

    assert b"export_csv" not in listing.content
    assert not response["Content-Type"].startswith("text/csv")


MONEY_MODELS = [
    CommissionEntry,
    Payment,
    Refund,
    Dispute,
    StoredEvent,
    Payout,
    PayoutRun,
    PayPalBatch,
    PayPalEvent,
]


@pytest.mark.parametrize("model", MONEY_MODELS, ids=lambda m: m.__name__)
def test_no_money_record_can_be_deleted_even_by_a_superuser(model, admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    model_admin = admin.site._registry[model]

    assert not model_admin.has_delete_permission(request)
    assert "delete_selected" not in model_admin.get_actions(request)


def test_no_inline_of_a_money_record_offers_delete(admin_user):
    from payouts.admin import PayoutAdmin

    request = RequestFactory().get("/admin/")
    request.user = admin_user
    inlines = [
        inline(Payout, admin.site)
        for inline in PayoutAdmin.inlines
        + admin.site._registry[PayoutRun].inlines
        + admin.site._registry[Referral].inlines
    ]

    assert not [i for i in inlines if i.has_delete_permission(request)]


@pytest.mark.parametrize("url", [ENTRIES, PAYMENTS])
def test_the_ledger_lists_cost_the_same_with_2_and_20_rows(
    manager_client, url, django_assert_max_num_queries
):
    def rows(n):
        for _ in range(n):
            referral = ReferralFactory()
            payment = _payment(referral, f"in_{referral.pk}", 1000)
            CommissionEntryFactory(affiliate=referral.affiliate, payment=payment)

    rows(2)
    with CaptureQueriesContext(connection) as two:
        manager_client.get(url)
    rows(18)

    with django_assert_max_num_queries(len(two)):
        page = manager_client.get(url)

    assert len(set(re.findall(rf'href="{url}(\d+)/change/', page.content.decode()))) == 20
