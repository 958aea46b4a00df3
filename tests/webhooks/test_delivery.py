"""Deliveries: signed by the Standard Webhooks library, retried with the same webhook-id and
body, every attempt logged, sent once however often a task runs, the endpoint disabled and
managers told after ~3 days of failure, resent from admin."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from standardwebhooks import Webhook

from tests.factories import UserFactory
from tests.webhooks.conftest import attempt_sent_at, make_endpoint, run_sent
from webhooks import services
from webhooks.models import Attempt, Delivery, Endpoint

pytestmark = pytest.mark.django_db
D = Delivery.State


def emit_one(now, key="affiliate.applied:1"):
    data = {"affiliate": {"id": 1, "username": "alice"}}
    return services.emit(type="affiliate.applied", data=data, now=now, key=key)


def test_a_receiver_that_fails_then_succeeds_gets_the_same_signed_message_twice(
    receiver, sent_tasks, django_capture_on_commit_callbacks
):
    receiver.script = [500, 200]
    now = timezone.now()
    _, secret = make_endpoint(receiver.url, now=now)

    with django_capture_on_commit_callbacks(execute=True):
        emit_one(now)
    first = run_sent(sent_tasks)  # the task queued on commit: the first attempt
    delivery = Delivery.objects.get()
    assert (first, delivery.state, delivery.attempts) == (["retry"], D.PENDING, 1)
    # The first retry is due within a minute.
    wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert wait == timedelta(seconds=30)
    assert services.send_due_deliveries(now=now + timedelta(seconds=29)) == 0
    assert services.send_due_deliveries(now=delivery.next_attempt_at) == 1
    second = run_sent(sent_tasks)

    assert second == ["succeeded"]
    (h1, b1), (h2, b2) = receiver.requests
    assert h1["webhook-id"] == h2["webhook-id"] == delivery.webhook_id
    assert b1 == b2 and json.loads(b1)["data"]["affiliate"]["username"] == "alice"
    for headers, body in receiver.requests:
        assert Webhook(secret).verify(body, headers)["type"] == "affiliate.applied"
    log = list(Attempt.objects.values_list("status_code", "ok"))
    assert log == [(500, False), (200, True)]
    assert all(a.duration_ms >= 0 for a in Attempt.objects.all())
    delivery.refresh_from_db()
    endpoint = Endpoint.objects.get()
    assert delivery.state == D.SUCCEEDED and endpoint.failure_count == 0
    assert endpoint.last_result == "200"


def test_a_task_run_twice_sends_once_and_a_sent_delivery_is_never_sent_again(
    receiver, sent_tasks, django_capture_on_commit_callbacks
):
    now = timezone.now()
    make_endpoint(receiver.url, now=now)
    with django_capture_on_commit_callbacks(execute=True):
        emit_one(now)
    sent_tasks.append(sent_tasks[0])  # acks-late redelivery of the same message

    results = run_sent(sent_tasks)

    assert results == ["succeeded", "skipped"]
    assert len(receiver.requests) == 1
    assert services.send_due_deliveries(now=now + timedelta(days=4)) == 0
    assert Attempt.objects.count() == 1


def test_an_event_with_a_key_is_written_once_per_endpoint(receiver):
    now = timezone.now()
    make_endpoint(receiver.url, now=now)

    assert emit_one(now) == 1
    assert emit_one(now) == 0

    assert Delivery.objects.count() == 1


def test_an_unreachable_receiver_is_an_attempt_with_its_error_and_a_retry(sent_tasks):
    now = timezone.now()
    make_endpoint("http://127.0.0.1:9/nothing-listens", now=now)  # discard port: refused
    emit_one(now)
    delivery = Delivery.objects.get()

    result = services.attempt_delivery(delivery_id=delivery.pk, token=delivery.token, now=now)

    attempt = Attempt.objects.get()
    assert result == "retry" and attempt.status_code is None and not attempt.ok
    assert "Connection" in attempt.error or "refused" in attempt.error.lower()
    delivery.refresh_from_db()
    assert delivery.state == D.PENDING and delivery.next_attempt_at == now + timedelta(seconds=30)


def test_the_schedule_retries_for_about_three_days_with_the_first_retry_within_a_minute():
    delays = services.RETRY_DELAYS

    assert delays[0] <= timedelta(minutes=1)
    assert list(delays) == sorted(delays)
    assert timedelta(days=2, hours=18) <= sum(delays, timedelta()) <= timedelta(days=3, hours=6)


def _fail_every_attempt(at, sent_tasks):
    """Drive one delivery through its whole schedule against a failing receiver: the
    sweeper claims it when due, its task runs as of that moment."""
    results = []
    for _ in range(len(services.RETRY_DELAYS) + 1):
        services.send_due_deliveries(now=at)
        results += attempt_sent_at(sent_tasks, at)
        delivery = Delivery.objects.get()
        at = delivery.next_attempt_at + timedelta(seconds=1)
    return results


def test_an_endpoint_failing_for_three_days_is_disabled_and_managers_are_told(
    receiver, sent_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    receiver.script = [503]
    manager = UserFactory(email="pm@example.org", is_staff=True)
    manager.groups.add(Group.objects.get(name="Program manager"))
    UserFactory(email="support@example.org", is_staff=True).groups.add(
        Group.objects.get(name="Support")
    )
    now = timezone.now()
    make_endpoint(receiver.url, now=now)
    emit_one(now)  # its on-commit task is lost here: the sweeper finds it after the lease

    with django_capture_on_commit_callbacks(execute=True):
        results = _fail_every_attempt(now + services.LEASE + timedelta(seconds=1), sent_tasks)

    assert results == ["retry"] * len(services.RETRY_DELAYS) + ["failed"]
    assert len(receiver.requests) == 10
    assert len({h["webhook-id"] for h, _ in receiver.requests}) == 1
    endpoint = Endpoint.objects.get()
    assert not endpoint.enabled and endpoint.failure_count == 10
    assert "every attempt failed" in endpoint.disabled_reason
    assert [m.to for m in mailoutbox] == [["pm@example.org"]]
    assert receiver.url in mailoutbox[0].subject
    # A disabled endpoint gets nothing more, not even new events.
    assert emit_one(now, key="affiliate.applied:2") == 0


def test_an_endpoint_that_answered_meanwhile_is_not_disabled(receiver, sent_tasks):
    receiver.script = [500]
    now = timezone.now()
    endpoint, _ = make_endpoint(receiver.url, now=now)
    emit_one(now)
    delivery = Delivery.objects.get()
    services.attempt_delivery(delivery_id=delivery.pk, token=delivery.token, now=now)  # fails
    # Another message got through an hour later: the receiver is not down.
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=now + timedelta(hours=1))

    _fail_every_attempt(now + timedelta(seconds=31), sent_tasks)

    assert Delivery.objects.get().state == D.FAILED
    assert Endpoint.objects.get().enabled


def test_a_program_manager_resends_a_delivery_from_admin_with_the_same_webhook_id(
    client, receiver, sent_tasks, django_capture_on_commit_callbacks
):
    receiver.script = [200]
    manager = UserFactory(email="pm@example.org", is_staff=True)
    manager.groups.add(Group.objects.get(name="Program manager"))
    now = timezone.now()
    _, secret = make_endpoint(receiver.url, now=now)
    with django_capture_on_commit_callbacks(execute=True):
        emit_one(now)
    run_sent(sent_tasks)
    delivery = Delivery.objects.get()
    client.force_login(manager)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/webhooks/delivery/",
            {"action": "resend_selected", "_selected_action": [delivery.pk]},
        )
    results = run_sent(sent_tasks)

    assert response.status_code == 302
    assert results == ["succeeded"]
    (h1, b1), (h2, b2) = receiver.requests
    assert h1["webhook-id"] == h2["webhook-id"] and b1 == b2
    Webhook(secret).verify(b2, h2)
    assert Attempt.objects.filter(delivery=delivery).count() == 2
    page = client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/")
    assert page.status_code == 200 and delivery.webhook_id in page.content.decode()
    assert delivery.token not in page.content.decode() or not delivery.token


def test_support_cannot_resend(client, receiver):
    user = UserFactory(email="s@example.org", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    client.force_login(user)

    response = client.get("/admin/webhooks/delivery/")

    assert response.status_code == 403


def test_a_slow_receiver_costs_a_worker_at_most_the_timeout(receiver, sent_tasks, monkeypatch):
    receiver.delay = 2.0
    monkeypatch.setattr(services, "TIMEOUT_SECONDS", 0.5)
    now = timezone.now()
    make_endpoint(receiver.url, now=now)
    emit_one(now)
    delivery = Delivery.objects.get()

    started = time.monotonic()
    result = services.attempt_delivery(delivery_id=delivery.pk, token=delivery.token, now=now)

    assert time.monotonic() - started < 1.5
    assert result == "retry" and "timed out" in Attempt.objects.get().error.lower()
