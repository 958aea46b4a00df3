"""/dashboard/referrals/ and the drill-down per customer: own customers only, masked
e-mails, the status rule, money that equals the ledger's, junk input that never 500s, and
a query count that does not grow with the number of customers."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissions.models import CommissionEntry, Payment, PlanChange
from commissions.referral_stats import refresh_referral_stats
from commissions.services import insert_entries, record_refund
from dashboard.selectors.referrals import PAGE_SIZE, mask_account, mask_email
from tests.commissions.conftest import pay
from tests.factories import (
    AffiliateFactory,
    ClickFactory,
    CommissionEntryFactory,
    CouponFactory,
    PlanFactory,
    ReferralFactory,
)

pytestmark = pytest.mark.django_db

Kind, State = CommissionEntry.Kind, CommissionEntry.State


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("jane.doe@example.com", "j•••@e•••.com"),
        ("J@x.co.uk", "J•••@x•••.uk"),
        ("no-at-sign", "n•••"),
        ("user@localhost", "u•••@l•••"),
        ("@example.com", "•••@e•••.com"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_email_keeps_two_letters_and_the_top_level_domain(email, masked):
    assert mask_email(email) == masked


def test_mask_account_shows_only_a_hint_of_a_destination():
    assert mask_account("alice.payee@paypal.example") == "a•••@p•••.example"
    assert mask_account("acct_1PqRsTuVwXyZ9abc") == "acct_…9abc"
    assert mask_account("short") == "•••"
    assert mask_account("") == ""


@pytest.fixture
def plan():
    return PlanFactory(
        name="Flat 30", first_payment_bp=3000, recurring_bp=3000, use_tiers=False, signup_bounty=0
    )


@pytest.fixture
def alice(plan):
    return AffiliateFactory(username="alice", plan=plan)


@pytest.fixture
def bob(plan):
    return AffiliateFactory(username="bob", plan=plan)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice.user)
    return client


def _ago(days: int):
    return timezone.now() - timedelta(days=days)


@pytest.fixture
def customers(alice, bob):
    """Alice's six customers in every state, and one of Bob's."""
    made = {
        "new": ReferralFactory(affiliate=alice, customer_id="c-new", email="nora@new.example"),
        "paying": ReferralFactory(
            affiliate=alice, customer_id="c-paying", email="paula@pay.example", plan="Pro"
        ),
        "lapsed": ReferralFactory(affiliate=alice, customer_id="c-lapsed"),
        "refunded": ReferralFactory(affiliate=alice, customer_id="c-refunded"),
        "annual": ReferralFactory(affiliate=alice, customer_id="c-annual"),
        "cancelled": ReferralFactory(affiliate=alice, customer_id="c-cancelled"),
        "bobs": ReferralFactory(affiliate=bob, customer_id="c-bobs", email="secret@bob.example"),
    }
    pay(made["paying"], external_id="p1", amount=4900, paid_at=_ago(40))
    pay(made["paying"], external_id="p2", amount=4900, paid_at=_ago(10), plan="Pro")
    record_refund(
        provider="api",
        external_id="r1",
        payment_ref="p2",
        amount=900,
        currency="USD",
        refunded_at=_ago(5),
        now=_ago(5),
    )
    pay(made["lapsed"], external_id="p3", amount=2000, paid_at=_ago(60))
    pay(made["refunded"], external_id="p4", amount=2000, paid_at=_ago(5))
    record_refund(
        provider="api",
        external_id="r2",
        payment_ref="p4",
        amount=2000,
        currency="USD",
        refunded_at=_ago(4),
        now=_ago(4),
    )
    pay(made["annual"], external_id="p5", amount=50000, paid_at=_ago(200), plan="Annual")
    PlanChange.objects.create(
        event_id="e1",
        referral=made["annual"],
        subscription_id="s1",
        product_plan="Annual",
        status="active",
        changed_at=_ago(200),
    )
    pay(made["cancelled"], external_id="p6", amount=1000, paid_at=_ago(3))
    PlanChange.objects.create(
        event_id="e2",
        referral=made["cancelled"],
        subscription_id="s2",
        product_plan="Basic",
        status="canceled",
        changed_at=_ago(2),
    )
    pay(made["bobs"], external_id="p7", amount=9900, paid_at=_ago(1))
    # What the every-minute sweeper does: the list reads the referrals' summaries. (The
    # plan changes above are written bare, but each referral was marked by its payment.)
    refresh_referral_stats(now=timezone.now())
    return made


def _rows(response):
    return {row.customer_id: row for row in response.context["rows"]}


def test_the_status_rule_on_every_kind_of_customer(alice_client, customers):
    response = alice_client.get("/dashboard/referrals/")

    assert response.status_code == 200
    rows = _rows(response)
    assert {cid: row.status for cid, row in rows.items()} == {
        "c-new": "signed_up",  # never paid
        "c-paying": "paying",  # paid 10 days ago, partly refunded: some kept
        "c-lapsed": "churned",  # last paid 60 days ago
        "c-refunded": "churned",  # paid 5 days ago, fully refunded
        "c-annual": "paying",  # paid 200 days ago, subscription active
        "c-cancelled": "churned",  # paid 3 days ago, cancelled after
    }


def test_revenue_and_commission_per_customer_equal_the_ledger(alice_client, alice, customers):
    response = alice_client.get("/dashboard/referrals/")

    rows = _rows(response)
    # c-paying: 4900 + 4900 − 900 refunded = 8900 cents. Commission 30 %: 1470 for p1;
    # p2's pending 1470 declined by the refund, replaced by 30 % of 4000 kept = 1200:
    # 1470 + 1200 = 2670.
    assert rows["c-paying"].revenue == [("USD", 8900)]
    assert rows["c-paying"].commission == [("USD", 2670)]
    # c-refunded: 2000 − 2000 = 0 revenue, its entry declined, no commission left.
    assert rows["c-refunded"].revenue == [("USD", 0)]
    assert rows["c-refunded"].commission == [("USD", 0)]
    assert rows["c-new"].revenue == [] and rows["c-new"].commission == []
    # Straight from the ledger, all of Alice's customers at once.
    payments = Payment.objects.filter(referral__affiliate=alice)
    ledger_revenue = sum(p.amount - p.refunded_amount for p in payments)
    ledger_commission = sum(
        e.amount
        for e in CommissionEntry.objects.filter(affiliate=alice).exclude(state=State.DECLINED)
    )
    # 8900 + 2000 + 0 + 50000 + 1000 = 61900; 2670 + 600 + 0 + 15000 + 300 = 18570.
    assert ledger_revenue == 61900 and ledger_commission == 18570
    assert sum(a for row in rows.values() for _, a in row.revenue) == ledger_revenue
    assert sum(a for row in rows.values() for _, a in row.commission) == ledger_commission
    assert [code for row in rows.values() for code, _ in row.revenue] == ["USD"] * 5
    html = response.content.decode()
    assert "USD 89.00" in html and "USD 26.70" in html


def test_a_signup_bounty_counts_in_the_customers_commission(alice_client, alice, customers):
    # Through the ledger's writer, which marks the referral due; then a sweep.
    insert_entries(
        entries=[
            CommissionEntryFactory.build(
                affiliate=alice,
                kind=Kind.SIGNUP,
                source_type=CommissionEntry.SourceType.SIGNUP,
                source_id=str(customers["new"].pk),
                amount=500,
            )
        ]
    )
    refresh_referral_stats(now=timezone.now())

    rows = _rows(alice_client.get("/dashboard/referrals/"))

    assert rows["c-new"].commission == [("USD", 500)]


def test_only_own_customers_and_never_a_full_email(alice_client, customers):
    html = alice_client.get("/dashboard/referrals/").content.decode()

    assert "c-bobs" not in html and "bob.example" not in html
    assert "paula@pay.example" not in html and "nora@new.example" not in html
    assert "p•••@p•••.example" in html


def test_filter_by_status_and_search_by_customer_id(alice_client, customers):
    paying = _rows(alice_client.get("/dashboard/referrals/", {"status": "paying"}))
    churned = _rows(alice_client.get("/dashboard/referrals/", {"status": "churned"}))
    signed_up = _rows(alice_client.get("/dashboard/referrals/", {"status": "signed_up"}))
    found = _rows(alice_client.get("/dashboard/referrals/", {"q": "REFUND"}))
    both = _rows(alice_client.get("/dashboard/referrals/", {"q": "c-", "status": "churned"}))
    junk = _rows(alice_client.get("/dashboard/referrals/", {"status": "rich"}))

    assert set(paying) == {"c-paying", "c-annual"}
    assert set(churned) == {"c-lapsed", "c-refunded", "c-cancelled"}
    assert set(signed_up) == {"c-new"}
    assert set(found) == {"c-refunded"}
    assert both == churned
    assert len(junk) == 6  # an unknown status filters nothing


def test_sort_by_revenue_and_junk_sort_falls_back(alice_client, customers):
    by_revenue = list(_rows(alice_client.get("/dashboard/referrals/", {"sort": "-revenue"})))
    by_customer = list(_rows(alice_client.get("/dashboard/referrals/", {"sort": "customer"})))
    junk = alice_client.get("/dashboard/referrals/", {"sort": "email; DROP TABLE"})

    # 50000 > 8900 > 2000 > 1000 > 0 (refunded) = 0 (no payment; ties by id, newest first).
    assert by_revenue == ["c-annual", "c-paying", "c-lapsed", "c-cancelled", "c-refunded", "c-new"]
    assert by_customer == sorted(by_customer) and len(by_customer) == 6
    assert junk.status_code == 200 and junk.context["sort"] == "-signup"


def test_every_column_header_is_a_sort_link(alice_client, customers):
    headers = alice_client.get("/dashboard/referrals/", {"status": "paying"}).context["headers"]

    assert [h["key"] for h in headers if h["href"]] == [
        "customer",
        "plan",
        "status",
        "signup",
        "first_payment",
        "revenue",
        "commission",
    ]
    # The filter rides along with the sort links.
    assert all("status=paying" in h["href"] for h in headers)


def test_a_later_page_shows_the_ledgers_figures_of_its_own_rows(alice, alice_client):
    # PAGE_SIZE + 2 customers, newest first: page 2 holds the two oldest, bulk-0 and bulk-1.
    for i in range(PAGE_SIZE + 2):
        referral = ReferralFactory(affiliate=alice, customer_id=f"bulk-{i}")
        referral.created_at = _ago(100 - i)
        referral.save(update_fields=["created_at"])
        pay(referral, external_id=f"bulk-{i}", amount=1000 + i, paid_at=_ago(2))
    refresh_referral_stats(now=timezone.now())

    rows = _rows(alice_client.get("/dashboard/referrals/", {"page": "2"}))

    assert set(rows) == {"bulk-0", "bulk-1"}
    # Revenue: the one payment of each, 1000 + i minor units, none refunded.
    assert rows["bulk-0"].revenue == [("USD", 1000)]
    assert rows["bulk-1"].revenue == [("USD", 1001)]
    assert rows["bulk-1"].status == "paying"


def test_the_drill_down_shows_payments_refunds_entries_and_why(alice, alice_client, customers):
    referral = customers["paying"]
    click = ClickFactory(affiliate=alice, landing_path="/blog/x/", at=_ago(41))
    referral.click_id, referral.cookie_set_at = click.pk, click.at
    referral.why = "credited alice by cookie (coupon SAVE1 of bob: bob is suspended)"
    referral.save()

    response = alice_client.get(f"/dashboard/referrals/{referral.pk}/")

    assert response.status_code == 200
    detail = response.context["detail"]
    assert [p.external_id for p in detail.payments] == ["p1", "p2"]
    assert [r.amount for r in detail.refunds] == [900]
    # p1 1470 pending, p2 1470 declined, the 1200 kept share.
    assert sorted((e.amount, e.state) for e in detail.entries) == [
        (1200, State.PENDING),
        (1470, State.DECLINED),
        (1470, State.PENDING),
    ]
    html = response.content.decode()
    assert "30% of USD 49.00" in html and "30% of USD 40.00" in html
    assert f"Referral cookie from click {click.pk} on" in html and "via /blog/x/alice" in html
    # The stored notes may name other affiliates: never shown.
    assert "bob" not in html.lower()
    assert "paula@pay.example" not in html


def test_a_coupon_referral_says_which_coupon(alice, alice_client):
    coupon = CouponFactory(affiliate=alice, code="ALICE10")
    referral = ReferralFactory(affiliate=alice, source="coupon", coupon=coupon)

    html = alice_client.get(f"/dashboard/referrals/{referral.pk}/").content.decode()

    assert "The customer used your coupon ALICE10." in html


def test_another_affiliates_customer_is_404_with_nothing_of_it(alice_client, customers):
    bobs = customers["bobs"]

    response = alice_client.get(f"/dashboard/referrals/{bobs.pk}/")
    missing = alice_client.get("/dashboard/referrals/999999/")

    assert response.status_code == 404 and missing.status_code == 404
    body = response.content.decode()
    assert "c-bobs" not in body and "99.00" not in body


def test_anonymous_visitors_go_to_login(client, customers):
    response = client.get("/dashboard/referrals/")

    assert response.status_code == 302 and "login" in response["Location"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sort=st.one_of(st.text(max_size=30), st.sampled_from(["-revenue", "plan", "-", "--signup"])),
    status=st.text(max_size=20),
    q=st.one_of(st.text(max_size=300), st.just("cus\x00tomer")),
    page=st.one_of(st.text(max_size=10), st.integers(-(10**20), 10**20).map(str)),
)
def test_junk_parameters_never_500(alice_client, customers, sort, status, q, page):
    params = {"sort": sort, "status": status, "q": q, "page": page}

    response = alice_client.get("/dashboard/referrals/", params)

    assert response.status_code == 200


def _customers_with_money(affiliate, n: int, start: int) -> None:
    for i in range(start, start + n):
        referral = ReferralFactory(affiliate=affiliate, customer_id=f"bulk-{i}")
        pay(referral, external_id=f"bulk-{i}", amount=1000 + i, paid_at=_ago(2))
        PlanChange.objects.create(
            event_id=f"bulk-{i}",
            referral=referral,
            subscription_id=f"s-{i}",
            product_plan="Pro",
            status="active",
            changed_at=_ago(2),
        )


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_the_customers(alice, alice_client):
    _customers_with_money(alice, 2, 0)
    referral = alice.referrals.first()
    list_two, detail_two = (
        _queries(alice_client, "/dashboard/referrals/?sort=-revenue"),
        _queries(alice_client, f"/dashboard/referrals/{referral.pk}/"),
    )

    _customers_with_money(alice, 18, 2)
    for i in range(10):  # and ten more payments of the customer drilled into
        pay(referral, external_id=f"more-{i}", amount=500, paid_at=_ago(1))
    list_twenty = _queries(alice_client, "/dashboard/referrals/?sort=-revenue")
    detail_twenty = _queries(alice_client, f"/dashboard/referrals/{referral.pk}/")

    assert list_two == list_twenty
    assert detail_two == detail_twenty <= 11  # 3 session/user/affiliate + 8 (click included)
    assert list_twenty <= 8


SORT_KEY = {
    "signup": lambda row: row.signed_up_at,
    "customer": lambda row: row.customer_id,
    "plan": lambda row: row.plan,
    "status": lambda row: row.status,
    "revenue": lambda row: sum(a for _, a in row.revenue),
    "commission": lambda row: sum(a for _, a in row.commission),
}


@pytest.mark.parametrize(
    "key", ["signup", "customer", "plan", "status", "first_payment", "revenue", "commission"]
)
@pytest.mark.parametrize("direction", ["", "-"])
def test_every_sortable_column_sorts(alice_client, customers, key, direction):
    response = alice_client.get("/dashboard/referrals/", {"sort": f"{direction}{key}"})

    assert response.status_code == 200
    assert response.context["sort"] == f"{direction}{key}"
    rows = response.context["rows"]
    assert len(rows) == 6
    if key == "first_payment":
        # The one customer who never paid comes last either way.
        assert rows[-1].customer_id == "c-new"
        paid = [row.first_paid_at for row in rows[:-1]]
        assert paid == sorted(paid, reverse=bool(direction))
    else:
        values = [SORT_KEY[key](row) for row in rows]
        assert values == sorted(values, reverse=bool(direction))
        # Ties by id, in the same direction.
        for a, b in zip(rows, rows[1:], strict=False):
            if SORT_KEY[key](a) == SORT_KEY[key](b):
                assert (a.pk > b.pk) if direction else (a.pk < b.pk)


# Any text a database stores (PostgreSQL refuses NUL in text; the API refuses it first).
STORABLE = st.characters(blacklist_characters="\x00")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    customer_id=st.text(STORABLE, min_size=1, max_size=40).filter(str.strip),
    plan=st.text(STORABLE, max_size=40),
)
def test_any_customer_id_and_plan_are_escaped_in_the_rows(alice_client, alice, customer_id, plan):
    # The rows are written by one tag (dashboard.templatetags.rows), not the template engine:
    # what the product sent is shown as text, never markup, as Django's escape writes it.
    from django.utils.html import escape

    Referral = ReferralFactory._meta.model
    Referral.objects.filter(affiliate=alice).delete()
    ReferralFactory(affiliate=alice, customer_id=customer_id, stat_plan=plan)

    html = alice_client.get("/dashboard/referrals/").content.decode()

    row = html[html.index("<tbody>") : html.index("</tbody>")]
    assert f"<code>{escape(customer_id)}</code>" in row
    assert f"<td>{escape(plan) if plan else '—'}</td>" in row
    assert row.count("<tr>") == 1
