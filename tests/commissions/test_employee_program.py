"""The employee program end to end through the API: the upgrade picker lists employees,
POST /api/v1/attributions names the one who helped, and the employee earns 10 % of the
customer's payments for the 12 months from the naming, alongside the referring affiliate."""

from datetime import UTC, datetime

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissions.models import CommissionEntry
from tests.factories import AffiliateFactory, PlanFactory, ReferralFactory, UserFactory
from tracking.models import Referral

pytestmark = pytest.mark.django_db

NAMED = datetime(2025, 10, 1, 12, tzinfo=UTC)


@pytest.fixture
def employee(db):
    plan = PlanFactory(
        name="Employee 10%",
        first_payment_bp=1000,
        recurring_bp=1000,
        recurring_months=12,
        use_tiers=False,
    )
    return AffiliateFactory(plan=plan, is_employee=True, username="erin")


@pytest.fixture
def referrer(db):
    # 30 % of every payment, for ever: the affiliate who brought the customer.
    plan = PlanFactory(name="Flat 30%", first_payment_bp=3000, recurring_bp=3000, use_tiers=False)
    return AffiliateFactory(plan=plan)


@pytest.fixture
def customer(referrer):
    return ReferralFactory(affiliate=referrer, customer_id="cust-1", email="buyer@shop.test")


def _pay(api, payment_id: str, paid_at: str, amount: int = 4000):
    body = {
        "payment_id": payment_id,
        "customer_id": "cust-1",
        "amount": amount,
        "currency": "USD",
        "paid_at": paid_at,
    }
    response = api.post("/api/v1/payments", body, format="json")
    assert response.status_code == 201, response.json()
    return response


def _amounts(affiliate) -> list[int]:
    return list(
        CommissionEntry.objects.filter(affiliate=affiliate, source_type="payment")
        .order_by("payment__paid_at", "pk")
        .values_list("amount", flat=True)
    )


def test_employees_lists_active_employees_for_the_picker(api, employee):
    AffiliateFactory(is_employee=False)  # an affiliate, not offered
    AffiliateFactory(is_employee=True, status="suspended")  # not active
    AffiliateFactory(is_employee=True, user=UserFactory(is_active=False))

    response = api.get("/api/v1/employees")

    assert response.status_code == 200
    assert response.json()["results"] == [{"public_id": employee.public_id, "display_name": "erin"}]


def test_employees_needs_a_key(anon_api):
    assert anon_api.get("/api/v1/employees").status_code == 401


def test_employee_named_at_upgrade_earns_ten_percent_for_twelve_months(api, customer, employee):
    # given the employee named for the customer on 1 Oct 2025
    with time_machine.travel(NAMED, tick=False):
        named = api.post(
            "/api/v1/attributions",
            {"customer_id": "cust-1", "employee": employee.public_id},
            format="json",
        )
    assert named.status_code == 201
    assert named.json()["employee"] == employee.public_id

    # when the customer pays $40.00 at months 0, 11, 12 and 13 from the naming
    _pay(api, "m0", "2025-10-01T12:00:00Z")
    _pay(api, "m11", "2026-09-01T12:00:00Z")
    _pay(api, "m12", "2026-10-01T12:00:00Z")
    _pay(api, "m13", "2026-11-01T12:00:00Z")

    # then the employee earns 4000 × 10 % = 400 at months 0 and 11; month 12 is the first
    # instant past 1 Oct 2025 + 12 months (the window is [named, named + 12 months))
    assert _amounts(employee) == [400, 400]
    # and the referring affiliate is paid too: 4000 × 30 % = 1200 on every payment
    assert _amounts(customer.affiliate) == [1200, 1200, 1200, 1200]
    # and each payment has at most one entry per earner (idempotent per payment)
    again = _pay_repeat(api)
    assert again.status_code == 200
    assert _amounts(employee) == [400, 400]


def _pay_repeat(api):
    body = {
        "payment_id": "m0",
        "customer_id": "cust-1",
        "amount": 4000,
        "currency": "USD",
        "paid_at": "2025-10-01T12:00:00Z",
    }
    return api.post("/api/v1/payments", body, format="json")


def test_refund_claws_back_the_employee_entry_in_proportion(api, customer, employee):
    # given the employee named and a $40.00 payment (employee 400, affiliate 1200)
    with time_machine.travel(NAMED, tick=False):
        api.post(
            "/api/v1/attributions",
            {"customer_id": "cust-1", "employee": "erin"},
            format="json",
        )
    _pay(api, "m0", "2025-10-01T12:00:00Z")

    # when $10.00 of it is refunded (a quarter)
    refund = {
        "refund_id": "r1",
        "payment_id": "m0",
        "amount": 1000,
        "refunded_at": "2025-10-05T12:00:00Z",
    }
    assert api.post("/api/v1/refunds", refund, format="json").status_code == 201

    # then both keep three quarters: employee 400 − 100 = 300, affiliate 1200 − 300 = 900
    def kept(affiliate) -> int:
        rows = CommissionEntry.objects.filter(affiliate=affiliate).exclude(state="declined")
        return sum(rows.values_list("amount", flat=True))

    assert kept(employee) == 300
    assert kept(customer.affiliate) == 900


def test_signup_with_employee_names_it_too(api, referrer, employee):
    with time_machine.travel(NAMED, tick=False):
        response = api.post(
            "/api/v1/signups",
            {"customer_id": "cust-9", "email": "new@buyer.test", "employee": "erin"},
            format="json",
        )

    assert response.status_code == 201
    assert response.json()["employee"] == employee.public_id
    assert Referral.objects.get(customer_id="cust-9").employee_at == NAMED


def test_employee_is_never_credited_for_its_own_account(api, employee):
    # given a customer with the employee's own e-mail
    ReferralFactory(affiliate=None, customer_id="own", email=employee.user.email)

    response = api.post(
        "/api/v1/attributions", {"customer_id": "own", "employee": "erin"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "self_referral"
    assert Referral.objects.get(customer_id="own").employee_id is None


def test_first_naming_wins(api, customer, employee):
    other = AffiliateFactory(is_employee=True, username="otto")
    body = {"customer_id": "cust-1", "employee": "erin"}

    first = api.post("/api/v1/attributions", body, format="json")
    same = api.post("/api/v1/attributions", body, format="json")
    conflict = api.post(
        "/api/v1/attributions", {**body, "employee": other.public_id}, format="json"
    )

    assert (first.status_code, same.status_code, conflict.status_code) == (201, 200, 409)
    assert same.json() == first.json()
    assert conflict.json()["error"]["code"] == "employee_already_named"
    assert Referral.objects.get(customer_id="cust-1").employee_id == employee.pk


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"customer_id": "nobody", "employee": "erin"}, 404, "not_found"),
        ({"customer_id": "cust-1", "employee": "nobody"}, 400, None),
        ({"customer_id": "cust-1"}, 400, None),
        # Late claims are accepted now (tests/tracking/test_late_claims.py); an unknown
        # coupon or affiliate is a field error, and an employee is named in its own call.
        ({"customer_id": "cust-1", "coupon": "SAVE10"}, 400, "invalid_claim"),
        ({"customer_id": "cust-1", "referred_by": "nobody-here"}, 400, "invalid_claim"),
        ({"customer_id": "cust-1", "employee": "erin", "coupon": "SAVE10"}, 400, None),
    ],
)
def test_attribution_errors_are_json_and_write_nothing(api, customer, employee, body, status, code):
    response = api.post("/api/v1/attributions", body, format="json")

    assert response.status_code == status
    error = response.json()["error"]
    if code:
        assert error["code"] == code
    assert Referral.objects.get(customer_id="cust-1").employee_id is None


def test_attributions_needs_a_key(anon_api):
    body = {"customer_id": "c", "employee": "e"}
    assert anon_api.post("/api/v1/attributions", body, format="json").status_code == 401


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.dictionaries(
        st.sampled_from(["customer_id", "employee", "coupon", "referred_by", "x"]),
        _json | st.sampled_from(["cust-1", "erin", "otto", " erin ", "\x00"]),
    )
    | _json
)
def test_attribution_body_sweep_never_500s(api, customer, employee, body):
    response = api.post("/api/v1/attributions", body, format="json")

    assert response.status_code in (200, 201, 400, 404, 409)
    assert isinstance(response.json(), dict)
    named = Referral.objects.get(customer_id="cust-1").employee_id
    assert named in (None, employee.pk)
    Referral.objects.filter(customer_id="cust-1").update(employee=None, employee_at=None)


def test_schema_publishes_the_employee_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert "get" in schema["paths"]["/api/v1/employees"]
    assert "post" in schema["paths"]["/api/v1/attributions"]
