"""Late claims through POST /api/v1/attributions {customer_id, coupon | referred_by}: a
customer nobody has is attributed at once; one another affiliate has waits for an admin's
decision (first referrer wins unless a person accepts); the decision is audited and
idempotent, and moves only the payments after it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from affiliates.models import AuditLog
from affiliates.roles import PROGRAM_MANAGER, SUPPORT
from commissions.models import CommissionEntry
from tests.factories import (
    AffiliateFactory,
    CouponFactory,
    PlanFactory,
    ReferralFactory,
    UserFactory,
)
from tracking.models import Referral, ReferralClaim
from tracking.services import accept_claim, claim_customer, reject_claim

pytestmark = pytest.mark.django_db

URL = "/api/v1/attributions"
ADMIN = "/admin/tracking/referralclaim/"
DECIDED = datetime(2026, 11, 10, 9, tzinfo=UTC)


@pytest.fixture
def flat30(db):
    return PlanFactory(name="Flat 30%", first_payment_bp=3000, recurring_bp=3000, use_tiers=False)


@pytest.fixture
def first(flat30):
    return AffiliateFactory(username="first", plan=flat30, user=UserFactory(email="f@first.test"))


@pytest.fixture
def claimant(flat30):
    return AffiliateFactory(username="claimant", plan=flat30, user=UserFactory(email="c@cl.test"))


@pytest.fixture
def coupon(claimant):
    return CouponFactory(code="CLAIM20", affiliate=claimant)


@pytest.fixture
def attributed(first):
    return ReferralFactory(customer_id="cust-a", affiliate=first, email="buyer@shop.test")


@pytest.fixture
def unattributed(db):
    return ReferralFactory(
        customer_id="cust-n", affiliate=None, source=Referral.Source.NONE, email="n@shop.test"
    )


def _post(api, body):
    return api.post(URL, body, format="json")


# --- a customer nobody has ----------------------------------------------------------------


def test_a_late_coupon_attributes_a_customer_nobody_has(api, unattributed, coupon):
    response = _post(api, {"customer_id": "cust-n", "coupon": "claim20"})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["outcome"] == "attributed"
    assert body["affiliate"] == coupon.affiliate.public_id
    assert body["claim"] is None
    unattributed.refresh_from_db()
    assert unattributed.affiliate == coupon.affiliate
    assert unattributed.source == Referral.Source.COUPON
    assert unattributed.coupon == coupon
    assert "late claim (coupon CLAIM20 of claimant)" in unattributed.why
    assert not ReferralClaim.objects.exists()


def test_a_late_referred_by_attributes_by_username_or_public_id(api, unattributed, claimant):
    response = _post(api, {"customer_id": "cust-n", "referred_by": claimant.public_id})

    assert response.status_code == 201
    unattributed.refresh_from_db()
    assert (unattributed.affiliate, unattributed.source) == (claimant, Referral.Source.DECLARED)
    # Repeated: the same affiliate already has it.
    again = _post(api, {"customer_id": "cust-n", "referred_by": "CLAIMANT"})
    assert again.status_code == 200
    assert again.json()["outcome"] == "unchanged"


def test_a_late_claim_is_refused_for_a_self_referral(api, claimant):
    ReferralFactory(customer_id="own", affiliate=None, source="none", email="C+x@cl.test")

    response = _post(api, {"customer_id": "own", "referred_by": "claimant"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_claim"
    assert "self-referral" in error["fields"]["referred_by"][0]
    assert Referral.objects.get(customer_id="own").affiliate_id is None


def test_a_late_claim_for_an_affiliate_not_approved_is_refused(api, unattributed):
    AffiliateFactory(username="pending1", status="applied")

    response = _post(api, {"customer_id": "cust-n", "referred_by": "pending1"})

    assert response.status_code == 400
    assert "applied" in response.json()["error"]["fields"]["referred_by"][0]
    unattributed.refresh_from_db()
    assert unattributed.affiliate_id is None


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"customer_id": "cust-n", "coupon": "NOPE"}, 400, "coupon"),
        ({"customer_id": "cust-n", "referred_by": "nobody-at-all"}, 400, "referred_by"),
        ({"customer_id": "cust-n", "coupon": "OFF"}, 400, "coupon"),  # inactive
        ({"customer_id": "unknown", "coupon": "CLAIM20"}, 404, "customer_id"),
        ({"customer_id": "cust-n", "coupon": ""}, 400, "employee"),
        ({"customer_id": "cust-n", "coupon": "x" * 65}, 400, "coupon"),
    ],
)
def test_bad_late_claims_are_field_errors_and_write_nothing(
    api, unattributed, coupon, body, status, field
):
    CouponFactory(code="OFF", affiliate=coupon.affiliate, is_active=False)

    response = _post(api, body)

    assert response.status_code == status
    assert field in response.json()["error"]["fields"]
    unattributed.refresh_from_db()
    assert unattributed.affiliate_id is None
    assert not ReferralClaim.objects.exists()


# --- a customer another affiliate has: a claim waits ---------------------------------------


def test_a_late_claim_on_an_attributed_customer_waits_for_a_decision(
    api, attributed, first, coupon
):
    response = _post(api, {"customer_id": "cust-a", "coupon": "CLAIM20"})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["outcome"] == "claimed"
    assert body["affiliate"] == first.public_id  # first referrer wins until a person decides
    assert body["claim"]["state"] == "pending"
    assert body["claim"]["affiliate"] == coupon.affiliate.public_id
    attributed.refresh_from_db()
    assert attributed.affiliate == first
    claim = ReferralClaim.objects.get()
    assert (claim.previous_affiliate, claim.source, claim.coupon) == (first, "coupon", coupon)
    # The same claim again: the same pending claim, nothing new.
    again = _post(api, {"customer_id": "cust-a", "coupon": "CLAIM20"})
    assert again.status_code == 200
    assert again.json()["claim"]["id"] == claim.pk
    assert ReferralClaim.objects.count() == 1


def test_a_late_claim_by_the_affiliate_that_has_the_customer_is_a_no_op(api, attributed, first):
    response = _post(api, {"customer_id": "cust-a", "referred_by": "first"})

    assert response.status_code == 200
    assert response.json()["outcome"] == "unchanged"
    assert not ReferralClaim.objects.exists()


def _pay(api, payment_id: str, paid_at: str, amount: int):
    body = {
        "payment_id": payment_id,
        "customer_id": "cust-a",
        "amount": amount,
        "currency": "USD",
        "paid_at": paid_at,
    }
    response = api.post("/api/v1/payments", body, format="json")
    assert response.status_code == 201, response.json()


def _payment_entries(affiliate) -> list[int]:
    return list(
        CommissionEntry.objects.filter(affiliate=affiliate, source_type="payment")
        .order_by("created_at", "pk")
        .values_list("amount", flat=True)
    )


def test_accepting_moves_later_payments_to_the_claimant_and_keeps_earlier_entries(
    api, attributed, first, claimant, coupon
):
    _pay(api, "pay-1", "2026-11-01T10:00:00Z", 4000)
    claim = claim_customer(customer_id="cust-a", coupon="CLAIM20", now=DECIDED).claim
    pm = UserFactory(email="pm@example.com", is_staff=True)

    assert accept_claim(claim_id=claim.pk, actor=pm, note="customer's e-mail", now=DECIDED)
    _pay(api, "pay-2", "2026-12-01T10:00:00Z", 4000)

    # 30 % of $40.00 = $12.00 each: the first payment's stays with the first affiliate, the
    # payment after the decision credits the claimant.
    assert _payment_entries(first) == [1200]
    assert _payment_entries(claimant) == [1200]
    attributed.refresh_from_db()
    assert (attributed.affiliate, attributed.source, attributed.coupon) == (
        claimant,
        "coupon",
        coupon,
    )
    assert "moved from first to claimant" in attributed.why
    claim.refresh_from_db()
    assert (claim.state, claim.decided_by, claim.decided_at, claim.decision_note) == (
        "accepted",
        pm,
        DECIDED,
        "customer's e-mail",
    )
    log = AuditLog.objects.get(action="referral_claim_accepted")
    assert (log.actor, log.affiliate, log.details["customer_id"]) == (pm, claimant, "cust-a")


def test_decisions_are_idempotent_and_a_rejected_claim_moves_nothing(attributed, first, coupon):
    claim = claim_customer(customer_id="cust-a", coupon="CLAIM20", now=DECIDED).claim

    assert reject_claim(claim_id=claim.pk, actor=None, note="no proof", now=DECIDED)
    assert not reject_claim(claim_id=claim.pk, actor=None, note="again", now=DECIDED)
    assert not accept_claim(claim_id=claim.pk, actor=None, note="late", now=DECIDED)

    claim.refresh_from_db()
    assert (claim.state, claim.decision_note) == ("rejected", "no proof")
    attributed.refresh_from_db()
    assert attributed.affiliate == first
    assert AuditLog.objects.filter(action__startswith="referral_claim_").count() == 1


# --- admin ---------------------------------------------------------------------------------


def _staff(client, group: str, email: str):
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return user


def test_a_program_manager_accepts_a_claim_in_admin_with_a_note(client, attributed, coupon):
    claim = claim_customer(customer_id="cust-a", coupon="CLAIM20", now=DECIDED).claim
    pm = _staff(client, PROGRAM_MANAGER, "pm@example.com")
    selected = {"action": "accept_claims", "_selected_action": [claim.pk]}

    confirm = client.post(ADMIN, selected)
    assert confirm.status_code == 200
    assert b"Accept the claims" in confirm.content
    claim.refresh_from_db()
    assert claim.state == "pending"  # the confirmation page decides nothing
    done = client.post(ADMIN, {**selected, "apply": "1", "note": "checked the invoice"})

    assert done.status_code == 302
    claim.refresh_from_db()
    assert (claim.state, claim.decided_by, claim.decision_note) == (
        "accepted",
        pm,
        "checked the invoice",
    )
    attributed.refresh_from_db()
    assert attributed.affiliate == coupon.affiliate


def test_support_reads_claims_and_cannot_decide(client, attributed, coupon):
    claim = claim_customer(customer_id="cust-a", coupon="CLAIM20", now=DECIDED).claim
    _staff(client, SUPPORT, "support@example.com")

    listing = client.get(ADMIN)
    assert listing.status_code == 200
    assert b"accept_claims" not in listing.content
    client.post(ADMIN, {"action": "accept_claims", "_selected_action": [claim.pk], "apply": "1"})

    claim.refresh_from_db()
    assert claim.state == "pending"


def test_coupons_are_managed_by_program_managers_and_read_only_for_support(client, coupon):
    change = f"/admin/affiliates/coupon/{coupon.pk}/change/"
    _staff(client, SUPPORT, "support@example.com")
    assert client.get(change).status_code == 200
    client.post(change, {"code": "HACKED", "affiliate": coupon.affiliate_id, "is_active": "on"})
    coupon.refresh_from_db()
    assert coupon.code == "CLAIM20"

    client.logout()
    _staff(client, PROGRAM_MANAGER, "pm@example.com")
    response = client.post(
        change,
        {
            "code": "CLAIM25",
            "affiliate": coupon.affiliate_id,
            "is_active": "on",
            "stripe_coupon_id": "Z4OV52SU",
            "stripe_promotion_code_id": "promo_1ABC",
            "created_at_0": "2026-11-01",
            "created_at_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    coupon.refresh_from_db()
    assert (coupon.code, coupon.stripe_coupon_id, coupon.stripe_promotion_code_id) == (
        "CLAIM25",
        "Z4OV52SU",
        "promo_1ABC",
    )


# --- bad input never 500 -------------------------------------------------------------------

_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=120),
    st.lists(st.text(max_size=5), max_size=2),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
    st.sampled_from(["CLAIM20", "claim20", "first", "claimant", "cust-a", "cust-n", " "]),
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        st.sampled_from(["customer_id", "coupon", "referred_by", "employee", "other"]),
        _values,
        max_size=4,
    )
)
def test_any_attributions_payload_answers_json_never_500(
    api, attributed, unattributed, coupon, body
):
    response = _post(api, body)

    assert response.status_code in (200, 201, 400, 404, 409), (body, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    if response.status_code >= 400:
        assert set(response.json()["error"]) >= {"code", "message", "fields"}
