"""One bad event never stops stage two: it is recorded with its error, retried with
backoff, parked after ingest.MAX_ATTEMPTS failures; the others go on (ingest/pipeline.py)."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from affiliates.roles import PROGRAM_MANAGER, SUPPORT
from commissions import ingest
from commissions.models import Payment, StoredEvent
from tests.commissions.conftest import invoice, stripe_event
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOV = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
T = int(NOV.timestamp())
_ids = itertools.count()


def store(*evts):
    for event in evts:
        ingest.store_event(provider="stripe", event=event, via="webhook", now=NOV)


def good(n: int) -> dict:
    inv = invoice(f"in_good{n}", customer="cus_ref1", amount_paid=4000, paid_at=T, plan="M")
    return stripe_event(f"evt_good{n}", "invoice.paid", inv, T)


def poison(event_id: str = "evt_poison") -> dict:
    # validly signed in real life; its data.object is a list
    return stripe_event(event_id, "invoice.paid", [{"id": "in_x"}], T)  # type: ignore[arg-type]


def row(event_id: str) -> StoredEvent:
    return StoredEvent.objects.get(event_id=event_id)


def test_a_poison_event_among_good_ones_is_retried_with_backoff_then_parked(referral):
    store(good(1), poison(), good(2))

    counts = ingest.process_pending_events(now=NOV)

    # the good ones are processed; the poison failed once and waits 2 minutes
    assert counts == {"processed": 2, "error": 1}
    assert Payment.objects.count() == 2
    bad = row("evt_poison")
    assert (bad.processed_at, bad.outcome, bad.attempts) == (None, "error", 1)
    assert bad.next_attempt_at == NOV + timedelta(minutes=2)
    assert "data.object is list" in bad.error

    # not before its time
    assert ingest.process_pending_events(now=NOV + timedelta(minutes=1)) == {}
    # then after 2, 4, 8, 16 minutes: attempts 2 … 5, and the fifth failure parks it
    at = NOV
    for wait in (2, 4, 8, 16):
        at += timedelta(minutes=wait)
        ingest.process_pending_events(now=at)
    bad = row("evt_poison")
    assert (bad.attempts, bad.outcome, bad.parked_at, bad.next_attempt_at) == (
        5,
        "parked",
        at,
        None,
    )
    # parked: left alone
    assert ingest.process_pending_events(now=at + timedelta(days=1)) == {}


def test_an_out_of_bounds_stripe_amount_fails_alone(referral):
    inv = invoice("in_huge", customer="cus_ref1", amount_paid=2**63 - 1, paid_at=T, plan="M")
    store(stripe_event("evt_huge", "invoice.paid", inv, T), good(1))

    counts = ingest.process_pending_events(now=NOV)

    assert counts == {"processed": 1, "error": 1}
    assert "between 1 and 1000000000000" in row("evt_huge").error
    assert list(Payment.objects.values_list("external_id", flat=True)) == ["in_good1"]


def test_process_events_exits_0_and_reports_the_failures(referral, capsys):
    store(good(1), poison())

    call_command("process_events")  # raises SystemExit / CommandError on a non-zero exit

    out = capsys.readouterr().out
    assert "error 1, processed 1" in out
    assert "failed: evt_poison (invoice.paid), attempt 1" in out
    assert "data.object is list" in out


def _client_in(group: str) -> Client:
    user = UserFactory(email=f"{group.split()[0].lower()}@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name=group))  # the groups sync_roles creates
    client = Client()
    client.force_login(user)
    return client


def test_admin_lists_parked_events_and_a_manager_retries_them(referral):
    store(poison())
    at = NOV
    for wait in (0, 2, 4, 8, 16):
        at += timedelta(minutes=wait)
        ingest.process_pending_events(now=at)
    assert row("evt_poison").outcome == "parked"
    manager, support = _client_in(PROGRAM_MANAGER), _client_in(SUPPORT)
    action = {"action": "retry", "_selected_action": [row("evt_poison").pk]}

    listed = support.get("/admin/commissions/storedevent/?attention=parked")
    support.post("/admin/commissions/storedevent/", action)
    assert row("evt_poison").outcome == "parked"  # Support reads, never writes
    retried = manager.post("/admin/commissions/storedevent/", action)

    assert "evt_poison" in listed.content.decode()
    assert retried.status_code == 302
    bad = row("evt_poison")
    assert (bad.attempts, bad.parked_at, bad.next_attempt_at) == (0, None, None)
    assert ingest.process_pending_events(now=at)["error"] == 1


# --- any shape ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)  # JSON has neither
    | st.text(max_size=8)
    | st.sampled_from(["cus_ref1", "in_1", "ch_1", "succeeded", "lost", "usd", "eur", "\x00"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.text(max_size=5) | st.sampled_from(["id", "data", "object"]), inner, max_size=3
        )
    ),
    max_leaves=12,
)
KEYS = [
    "id",
    "customer",
    "amount_paid",
    "amount",
    "amount_refunded",
    "tax",
    "total_tax_amounts",
    "currency",
    "charge",
    "payment_intent",
    "status",
    "status_transitions",
    "lines",
    "subscription",
    "parent",
    "metadata",
    "refunds",
    "created",
    "client_reference_id",
    "items",
    "plan",
]
# Plausible objects (the right keys, any values) and anything at all.
objects = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8) | json_values
event_types = st.sampled_from(
    ingest.handled_types() + ["unknown.type"]  # every type in STRIPE_EVENT_HANDLERS
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(type_=event_types, obj=objects, data=json_values, wrap=st.booleans())
def test_no_shape_of_data_object_raises_out_of_the_batch(referral, type_, obj, data, wrap):
    n = next(_ids)
    payload = {"id": f"evt_any{n}", "type": type_, "created": T}
    payload["data"] = {"object": obj} if wrap else data
    store(payload, good(n))

    ingest.process_pending_events(now=NOV + timedelta(days=n))  # never raises

    assert row(f"evt_good{n}").outcome == "processed"
    assert Payment.objects.filter(external_id=f"in_good{n}").exists()
    bad = row(f"evt_any{n}")
    assert bad.attempts == 1
    assert bad.outcome in {"processed", "skipped", "unhandled", "error"}
