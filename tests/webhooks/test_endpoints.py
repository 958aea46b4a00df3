"""Registering endpoints: the command and admin, the secret shown once, bad URLs refused
with nothing written, private addresses refused in production; and a receiver never slows
the request that caused its event."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from standardwebhooks import Webhook

from tests.factories import AffiliateFactory, UserFactory
from tests.webhooks.conftest import make_endpoint
from webhooks import services
from webhooks.models import Attempt, Delivery, Endpoint

pytestmark = pytest.mark.django_db


def test_create_webhook_prints_the_secret_on_its_last_line(receiver):
    out = StringIO()

    call_command(
        "create_webhook", receiver.url, "--events", "referral.created,payout.paid", stdout=out
    )

    last = out.getvalue().strip().splitlines()[-1]
    endpoint = Endpoint.objects.get()
    assert last.startswith("whsec_") and last == endpoint.secret
    Webhook(last)  # the official library reads it
    assert endpoint.events == ["referral.created", "payout.paid"]


def test_create_webhook_accepts_the_reserved_prize_event(receiver):
    call_command("create_webhook", receiver.url, "--events", "prize.awarded", stdout=StringIO())

    assert Endpoint.objects.get().events == ["prize.awarded"]


def test_an_unknown_event_is_refused_and_nothing_written(receiver):
    with pytest.raises(CommandError, match="Unknown event 'payout.sent'"):
        call_command("create_webhook", receiver.url, "--events", "payout.sent", stdout=StringIO())

    assert not Endpoint.objects.exists()


BAD_SCHEMES = st.sampled_from(
    ["", "ftp://", "file://", "javascript:", "gopher://", "http:/", "//", "ws://"]
)
GOOD_HOST = st.sampled_from(["127.0.0.1", "example.com", "[::1]"])
BAD_URLS = st.one_of(
    st.builds(lambda s, h, p: f"{s}{h}/{p}", BAD_SCHEMES, GOOD_HOST, st.text(max_size=10)),
    st.builds(lambda h, c: f"http://{h}/a{c}b", GOOD_HOST, st.sampled_from(" \t\n\r\x00\x7f")),
    st.builds(lambda u, h: f"https://{u}@{h}/", st.sampled_from(["user", "u:p", ":x"]), GOOD_HOST),
    st.builds(lambda p: f"http://127.0.0.1:{p}/", st.integers(min_value=65536, max_value=10**7)),
    st.builds(lambda h: f"http://{h}/x#frag", GOOD_HOST),
    st.builds(
        lambda n: "https://example.com/" + "a" * n, st.integers(min_value=2000, max_value=5000)
    ),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30).filter(
        lambda s: not s.startswith(("http://", "https://"))
    ),
    st.sampled_from(
        ["http://", "https://", "http://:80/", "http://exa mple.com/", "http://-a-.com/"]
    ),
)


@hsettings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(url=BAD_URLS)
def test_a_bad_url_is_refused_clearly_and_nothing_is_written(url):
    if "\x00" in url:
        # argv cannot carry NUL (the OS refuses it); the service sees it from admin.
        with pytest.raises(Exception, match="URL"):
            services.create_endpoint(url=url, events=None, now=timezone.now())
    else:
        with pytest.raises(CommandError) as refused:
            # "--": a URL starting with "-" is the argument, not an option.
            call_command("create_webhook", "--", url, stdout=StringIO())
        assert "URL" in str(refused.value)

    assert not Endpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_production_refuses_private_and_local_addresses(settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE = False

    with pytest.raises(CommandError, match="private or local"):
        call_command("create_webhook", url, stdout=StringIO())

    assert not Endpoint.objects.exists()


def test_production_accepts_a_public_address(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False

    call_command("create_webhook", "https://93.184.215.14/hook", stdout=StringIO())

    assert Endpoint.objects.get().url == "https://93.184.215.14/hook"


def test_an_address_that_became_private_is_not_called(settings, receiver):
    endpoint, _ = make_endpoint(receiver.url, now=timezone.now())
    services.emit(type="payout.paid", data={"payout": {"id": 1}}, now=timezone.now())
    delivery = Delivery.objects.get()
    settings.WEBHOOK_ALLOW_PRIVATE = False  # production settings, a 127.0.0.1 row

    services.attempt_delivery(delivery_id=delivery.pk, token=delivery.token, now=timezone.now())

    assert receiver.requests == []
    assert "private or local" in Attempt.objects.get().error


def _manager(client):
    user = UserFactory(email="pm@example.org", is_staff=True)
    user.groups.add(Group.objects.get(name="Program manager"))
    client.force_login(user)
    return user


def test_admin_creates_an_endpoint_and_shows_the_secret_once(client, receiver):
    _manager(client)

    response = client.post(
        "/admin/webhooks/endpoint/add/",
        {"url": receiver.url, "events": ["payout.paid", "payout.failed"], "description": "CRM"},
    )

    endpoint = Endpoint.objects.get()
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert endpoint.secret in response.content.decode()
    assert endpoint.events == ["payout.paid", "payout.failed"]
    listing = client.get("/admin/webhooks/endpoint/").content.decode()
    change = client.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/").content.decode()
    assert receiver.url.split("?")[0] in listing and "payout.paid, payout.failed" in listing
    assert endpoint.secret not in listing and endpoint.secret not in change


def test_admin_refuses_a_bad_url_and_writes_nothing(client):
    _manager(client)

    response = client.post("/admin/webhooks/endpoint/add/", {"url": "ftp://example.com/x"})

    assert response.status_code == 200 and "valid http" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_a_hung_receiver_neither_fails_nor_slows_the_request_that_caused_the_event(
    api, receiver, django_capture_on_commit_callbacks
):
    receiver.delay = 5.0  # would hold the request 5 s if it were called inline
    make_endpoint(receiver.url, events=["referral.created"], now=timezone.now())
    alice = AffiliateFactory(username="alice")
    payload = {"customer_id": "cus_9", "email": "z@z.test", "referral": alice.public_id}

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):  # the commit, and its queueing
        response = api.post("/api/v1/signups", payload, format="json")
    elapsed = time.monotonic() - started

    assert response.status_code == 201
    assert elapsed < 2.0, elapsed
    assert receiver.requests == []  # the worker calls it, never the request
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.PENDING and delivery.token


def test_an_unreachable_receiver_does_not_fail_the_request(api, django_capture_on_commit_callbacks):
    make_endpoint("http://127.0.0.1:9/down", now=timezone.now())
    alice = AffiliateFactory(username="alice")
    payload = {"customer_id": "cus_8", "email": "y@y.test", "referral": alice.public_id}

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/signups", payload, format="json")

    assert response.status_code == 201
    assert Delivery.objects.filter(event_type="referral.created").count() == 1
