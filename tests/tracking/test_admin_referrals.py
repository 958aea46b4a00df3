"""The referral (customer) admin: the "why credited" trail, the customer's payments inline and
its ledger entries, refunds and disputes, all read-only; CSV export; constant query count."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commissions.models import CommissionEntry, Payment, Refund
from tests.factories import (
    AffiliateFactory,
    ClickFactory,
    CommissionEntryFactory,
    ReferralFactory,
)

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/tracking/referral/"
PAID = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def _payment(referral, external_id: str, amount: int, currency="USD", **extra) -> Payment:
    return Payment.objects.create(
        provider="api",
        external_id=external_id,
        referral=referral,
        customer_id=referral.customer_id,
        amount=amount,
        currency=currency,
        program_amount=extra.pop("program_amount", amount),
        paid_at=PAID,
        is_first=extra.pop("is_first", False),
        **extra,
    )


@pytest.fixture
def customer():
    alice = AffiliateFactory(username="alice")
    click = ClickFactory(affiliate=alice, landing_path="/blog/x/")
    referral = ReferralFactory(
        affiliate=alice,
        customer_id="cus_4711",
        source="cookie",
        click_id=click.pk,
        cookie_set_at=PAID,
        why="credited alice by cookie",
    )
    first = _payment(referral, "in_1", 10800, is_first=True, product_plan="Pro")
    second = _payment(referral, "in_2", 5000)
    CommissionEntryFactory(
        affiliate=alice,
        payment=first,
        kind=CommissionEntry.Kind.FIRST_PAYMENT,
        amount=5400,  # 50 % of 10800
        rate_bp=5000,
        base_amount=10800,
        source_type="payment",
        source_id=str(first.pk),
        rule="Default: first payment 50 %",
    )
    CommissionEntryFactory(
        affiliate=alice,
        kind=CommissionEntry.Kind.SIGNUP,
        amount=25,
        source_type="signup",
        source_id=str(referral.pk),
        rule="Default: signup bounty",
    )
    Refund.objects.create(
        provider="api",
        external_id="re_1",
        payment=second,
        payment_ref="in_2",
        amount=1250,
        currency="USD",
        refunded_at=PAID,
    )
    CommissionEntryFactory(affiliate=alice, amount=777)  # someone else's entry
    return referral


def test_the_referral_page_says_why_it_was_credited(manager_client, customer):
    page = manager_client.get(f"{CHANGELIST}{customer.pk}/change/").content.decode()

    assert f"Referral cookie from click {customer.click_id} on " in page
    assert "via /blog/x/" in page
    assert "credited alice by cookie" in page
    assert f'href="/admin/affiliates/affiliate/{customer.affiliate_id}/change/"' in page


def test_the_referral_page_lists_its_payments_entries_and_refunds_as_money(
    manager_client, customer
):
    page = manager_client.get(f"{CHANGELIST}{customer.pk}/change/").content.decode()

    # payments 10800 and 5000 cents; the first-payment entry 5400 at 5000 bp of 10800;
    # the signup bounty 25 cents; a refund of 1250 cents
    for figure in ("USD 108.00", "USD 50.00", "USD 54.00", "50 %", "USD 0.25", "USD 12.50"):
        assert figure in page, figure
    assert "Default: first payment 50 %" in page and "Default: signup bounty" in page
    assert "USD 7.77" not in page  # another customer's entry
    assert ">10800<" not in page and "10800 USD" not in page
    assert 'name="payments-0-amount"' not in page  # read-only
    assert "payments-0-DELETE" not in page and 'name="_save"' not in page


def test_the_referrals_list_shows_lifetime_revenue_as_money(manager_client, customer):
    page = manager_client.get(CHANGELIST).content.decode()

    # 10800 + 5000 = 15800 cents in the program currency
    assert "USD 158.00" in page and "cus_4711" in page


def test_referrals_are_never_deleted_and_support_reads_them_without_actions(
    support_client, customer, admin_client
):
    listing = support_client.get(CHANGELIST)
    page = support_client.get(f"{CHANGELIST}{customer.pk}/change/")
    delete = admin_client.post(f"{CHANGELIST}{customer.pk}/delete/", {"post": "yes"})

    assert listing.status_code == page.status_code == 200
    assert b"USD 108.00" in page.content
    assert b'name="action"' not in listing.content
    assert delete.status_code == 403
    assert b"delete_selected" not in admin_client.get(CHANGELIST).content


def test_a_manager_exports_referrals_as_formula_safe_csv(manager_client, customer):
    other = ReferralFactory(customer_id="=1+1", email="x@y.test")

    response = manager_client.post(
        CHANGELIST, {"action": "export_csv", "_selected_action": [customer.pk, other.pk]}
    )

    rows = {r["email"]: r for r in csv.DictReader(io.StringIO(response.content.decode()))}
    assert rows[customer.email]["affiliate"] == "alice"
    assert rows[customer.email]["source"] == "cookie"
    assert rows["x@y.test"]["customer_id"] == "'=1+1"


def test_the_referrals_list_costs_the_same_with_2_and_20_rows(
    manager_client, django_assert_max_num_queries
):
    def customers(n):
        for referral in ReferralFactory.create_batch(n):
            _payment(referral, f"in_{referral.pk}", 1000)

    customers(2)
    with CaptureQueriesContext(connection) as two:
        manager_client.get(CHANGELIST)
    customers(18)

    with django_assert_max_num_queries(len(two)):
        page = manager_client.get(CHANGELIST)

    assert page.content.decode().count('name="_selected_action"') == 20
