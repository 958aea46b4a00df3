"""/dashboard/commissions/ and its CSV: every entry of the affiliate (and only its own),
filtered by state, kind and period, with totals per currency that equal the ledger's for
the same filter; the CSV carries the same rows, formula-safe, amounts as decimal strings."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissions.models import CommissionEntry
from dashboard.selectors.ledger import format_bp, rate_words
from tests.factories import CommissionEntryFactory, ReferralFactory

pytestmark = pytest.mark.django_db

Kind, State = CommissionEntry.Kind, CommissionEntry.State


def _ago(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)


@pytest.fixture
def ledger(alice):
    """Alice's entries in three currencies, states and ages, and one of Bob's."""
    customer = ReferralFactory(affiliate=alice, customer_id="cust-42")
    e = CommissionEntryFactory
    return {
        "recent_pending": e(affiliate=alice, amount=1470, state=State.PENDING, created_at=_ago(2)),
        "recent_approved": e(
            affiliate=alice,
            amount=2500,
            state=State.APPROVED,
            kind=Kind.FIRST_PAYMENT,
            created_at=_ago(3),
            approved_at=_ago(1),
        ),
        "recent_clawback": e(
            affiliate=alice,
            amount=-300,
            kind=Kind.CLAWBACK,
            state=State.APPROVED,
            created_at=_ago(4),
            approved_at=_ago(4),
        ),
        "recent_declined": e(affiliate=alice, amount=999, state=State.DECLINED, created_at=_ago(5)),
        "old_paid": e(
            affiliate=alice,
            amount=10000,
            state=State.PAID,
            created_at=_ago(60),
            approved_at=_ago(30),
            paid_at=_ago(20),
        ),
        "eur": e(affiliate=alice, amount=1234, currency="EUR", created_at=_ago(6)),
        "jpy": e(affiliate=alice, amount=500, currency="JPY", created_at=_ago(7)),
        "signup": e(
            affiliate=alice,
            amount=500,
            kind=Kind.SIGNUP,
            source_type=CommissionEntry.SourceType.SIGNUP,
            source_id=str(customer.pk),
            rule='=HYPERLINK("http://evil")',
            created_at=_ago(8),
        ),
        "bobs": e(amount=77777, created_at=_ago(1), rule="bob's rule"),
    }


def _totals(response) -> dict[str, dict[str, int]]:
    return {t.currency: {**t.by_state, "total": t.in_balance} for t in response.context["totals"]}


def _ledger_total(affiliate, currency: str, **filters) -> int:
    rows = CommissionEntry.objects.filter(affiliate=affiliate, currency=currency, **filters)
    return sum(e.amount for e in rows.exclude(state=State.DECLINED))


def test_all_time_by_default_with_totals_per_currency(alice_client, alice, ledger):
    response = alice_client.get("/dashboard/commissions/")

    assert response.status_code == 200
    totals = _totals(response)
    # USD: pending 1470 + 500 (signup) = 1970; approved 2500 − 300 = 2200; paid 10000;
    # declined 999 apart. Total 1970 + 2200 + 10000 = 14170.
    assert totals["USD"]["pending"] == 1970
    assert totals["USD"]["approved"] == 2200
    assert totals["USD"]["paid"] == 10000
    assert totals["USD"]["declined"] == 999
    assert totals["USD"]["total"] == 14170 == _ledger_total(alice, "USD")
    assert totals["EUR"]["total"] == 1234 and totals["JPY"]["total"] == 500
    html = response.content.decode()
    assert "USD 141.70" in html and "EUR 12.34" in html and "JPY 500" in html
    assert response.context["page"].paginator.count == 8


def test_filters_by_state_kind_and_period(alice_client, alice, ledger):
    approved = _totals(alice_client.get("/dashboard/commissions/", {"state": "approved"}))
    clawbacks = alice_client.get("/dashboard/commissions/", {"kind": "clawback"})
    last_30 = _totals(alice_client.get("/dashboard/commissions/", {"range": "30"}))

    # Approved USD: 2500 − 300 = 2200.
    assert approved == {"USD": {**approved["USD"], "approved": 2200, "total": 2200}}
    assert [e.pk for e, _ in clawbacks.context["rows"]] == [ledger["recent_clawback"].pk]
    # Last 30 days leaves out the paid entry written 60 days ago: 14170 − 10000 = 4170.
    assert last_30["USD"]["total"] == 4170
    assert last_30["USD"]["total"] == _ledger_total(
        alice, "USD", created_at__gte=_ago(29).replace(hour=0, minute=0, second=0)
    )


def test_another_affiliates_entries_never_appear(alice_client, ledger):
    page = alice_client.get("/dashboard/commissions/").content.decode()
    export = b"".join(alice_client.get("/dashboard/commissions.csv").streaming_content).decode()

    for body in (page, export):
        assert "777.77" not in body and "bob&#x27;s rule" not in body and "bob's rule" not in body


def _csv(client, params=None) -> list[dict[str, str]]:
    response = client.get("/dashboard/commissions.csv", params or {})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_the_csv_has_the_same_rows_and_totals_as_the_page(alice_client, alice, ledger):
    rows = _csv(alice_client, {"state": "approved"})
    everything = _csv(alice_client)

    assert sorted(int(r["entry_id"]) for r in rows) == sorted(
        [ledger["recent_approved"].pk, ledger["recent_clawback"].pk]
    )
    # 25.00 + (−3.00) = 22.00, in minor units 2500 − 300 = 2200.
    assert sum(int(r["amount_minor"]) for r in rows) == 2200
    assert {r["amount"] for r in rows} == {"25.00", "-3.00"}
    by_id = {int(r["entry_id"]): r for r in everything}
    assert by_id[ledger["jpy"].pk]["amount"] == "500"
    assert by_id[ledger["jpy"].pk]["currency"] == "JPY"
    assert by_id[ledger["eur"].pk]["amount"] == "12.34"
    signup = by_id[ledger["signup"].pk]
    assert signup["rule"] == '\'=HYPERLINK("http://evil")'  # formula-safe
    assert signup["customer_id"] == "cust-42"
    # Per currency the CSV adds up to the page's total (not declined).
    usd = [r for r in everything if r["currency"] == "USD" and r["state"] != "declined"]
    assert sum(int(r["amount_minor"]) for r in usd) == 14170


def test_rate_in_words():
    entry = CommissionEntry(rate_bp=2000, base_amount=4900, base_currency="USD", currency="USD")
    flat = CommissionEntry(rate_bp=None, base_amount=None, currency="USD")

    assert rate_words(entry) == "20% of USD 49.00"
    assert rate_words(flat) == ""
    assert [format_bp(v) for v in (2000, 2050, 1234, 5, 0)] == ["20", "20.5", "12.34", "0.05", "0"]
    # In French: the decimal comma, a narrow no-break space before the sign, the money too.
    entry.rate_bp = 2050
    with translation.override("fr"):
        assert rate_words(entry) == "20,5\u202f% de 49,00\u00a0USD"
    with translation.override("ja"):
        assert rate_words(entry) == "USD\u00a049.00 の 20.5%"


def test_an_entry_of_a_customer_links_to_the_drill_down(alice_client, ledger):
    html = alice_client.get("/dashboard/commissions/").content.decode()

    referral_pk = ledger["signup"].source_id
    assert f'href="/dashboard/referrals/{referral_pk}/"' in html


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    state=st.one_of(st.text(max_size=15), st.sampled_from(State.values)),
    kind=st.one_of(st.text(max_size=15), st.sampled_from(Kind.values)),
    range_=st.one_of(
        st.text(max_size=10), st.sampled_from(["today", "7", "30", "90", "all", "custom"])
    ),
    from_=st.one_of(st.text(max_size=12), st.dates().map(str)),
    to=st.one_of(st.text(max_size=12), st.dates().map(str)),
    page=st.one_of(st.text(max_size=8), st.integers(-(10**20), 10**20).map(str)),
)
def test_junk_parameters_never_500(alice_client, ledger, state, kind, range_, from_, to, page):
    params = {"state": state, "kind": kind, "range": range_, "from": from_, "to": to, "page": page}

    page_response = alice_client.get("/dashboard/commissions/", params)
    csv_response = alice_client.get("/dashboard/commissions.csv", params)

    assert page_response.status_code == 200
    assert csv_response.status_code == 200
    b"".join(csv_response.streaming_content)


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)
    return len(ctx.captured_queries)


def test_the_query_count_does_not_grow_with_the_entries(alice, alice_client):
    def entries(n: int) -> None:
        for i in range(n):
            referral = ReferralFactory(affiliate=alice)
            CommissionEntryFactory(
                affiliate=alice,
                kind=Kind.SIGNUP,
                source_type=CommissionEntry.SourceType.SIGNUP,
                source_id=str(referral.pk),
                created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i),
            )

    entries(2)
    two = [
        _queries(alice_client, u) for u in ("/dashboard/commissions/", "/dashboard/commissions.csv")
    ]
    entries(18)
    twenty = [
        _queries(alice_client, u) for u in ("/dashboard/commissions/", "/dashboard/commissions.csv")
    ]

    assert two == twenty
    assert twenty[0] <= 8
