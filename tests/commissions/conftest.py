"""Fixtures for the commissions tests: plans, a `pay` helper that goes through the payments
service, Stripe-signed webhook bodies, and a localstripe server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from commissions.ingest import process_pending_events, store_event
from commissions.services import PaymentInput, record_payment
from tests.factories import AffiliateFactory, PlanFactory, ReferralFactory, default_plan_with_tiers

WEBHOOK_SECRET = "whsec_test_commissions"


@pytest.fixture
def default_plan(db):
    return default_plan_with_tiers()


@pytest.fixture
def flat30(db):
    # Publer's basic plan: 30 % of every payment, no tiers.
    return PlanFactory(name="Basic 30%", first_payment_bp=3000, recurring_bp=3000, use_tiers=False)


@pytest.fixture
def affiliate(default_plan):
    return AffiliateFactory()


@pytest.fixture
def referral(affiliate):
    return ReferralFactory(affiliate=affiliate, stripe_customer_id="cus_ref1")


def pay(
    referral,
    *,
    external_id: str,
    amount: int,
    paid_at: datetime,
    currency: str = "USD",
    plan: str = "",
    now: datetime | None = None,
    provider: str = "api",
    charge_id: str = "",
):
    return record_payment(
        referral=referral,
        data=PaymentInput(
            provider=provider,
            external_id=external_id,
            amount=amount,
            currency=currency,
            paid_at=paid_at,
            product_plan=plan,
            charge_id=charge_id,
        ),
        now=now or paid_at,
    )


def sign(body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def stripe_event(event_id: str, type_: str, obj: dict, created: int) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": type_,
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "api_version": "2024-06-20",
    }


def invoice(
    invoice_id: str,
    *,
    customer: str,
    amount_paid: int,
    paid_at: int,
    tax: int = 0,
    currency: str = "usd",
    plan: str = "Pro",
    charge: str = "",
) -> dict:
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": customer,
        "amount_paid": amount_paid,
        "tax": tax,
        "currency": currency,
        "status": "paid",
        "subscription": "sub_1",
        "charge": charge or f"ch_{invoice_id}",
        "status_transitions": {"paid_at": paid_at},
        "lines": {"data": [{"plan": {"id": f"plan_{plan.lower()}", "nickname": plan}}]},
    }


@pytest.fixture
def webhook_settings(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    return settings


def store_and_process(events: list[dict], now: datetime) -> None:
    for event in events:
        store_event(provider="stripe", event=event, via="webhook", now=now)
    process_pending_events(now=now)


# --- localstripe -------------------------------------------------------------------------

_RUNNER = """
import logging, sys
# localstripe logs each webhook delivery ("… successfully delivered") at INFO: tests read
# the log to know deliveries are over without touching the database.
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
import localstripe.resources as resources
from aiohttp import web
# Persistence off: localstripe pickles its store to /tmp on every write by default.
resources.Store.dump_to_disk = lambda self: None
from localstripe.server import app
port = int(sys.argv[1])
web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)
"""


_LOGS: dict[str, Path] = {}


def localstripe_log(url: str) -> str:
    return _LOGS[url].read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe_url(tmp_path_factory):
    """A localstripe server for the whole session: a subprocess on 127.0.0.1, free port,
    nothing written to disk."""
    port = _free_port()
    log = tmp_path_factory.mktemp("localstripe") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", _RUNNER, str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    url = f"http://127.0.0.1:{port}"
    _LOGS[url] = Path(log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"localstripe exited: {Path(log).read_text()}") from None
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("localstripe did not start")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


def post_json(client, url: str, payload: dict, **headers):
    return client.post(url, data=json.dumps(payload), content_type="application/json", **headers)


@pytest.fixture
def serial_live_server(transactional_db):
    """Like pytest-django's live_server, but one request at a time: localstripe posts its
    webhooks concurrently, and an in-memory SQLite database is one connection shared with
    the server thread, which concurrent requests would interleave."""
    from django.core.servers.basehttp import WSGIServer
    from django.db import connections
    from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler, _StaticFilesHandler

    class SerialLiveServerThread(LiveServerThread):
        def _create_server(self, connections_override=None):
            return WSGIServer(
                (self.host, self.port), QuietWSGIRequestHandler, allow_reuse_address=False
            )

    override = {
        conn.alias: conn
        for conn in connections.all()
        if conn.vendor == "sqlite" and conn.is_in_memory_db()
    }
    for conn in override.values():
        conn.inc_thread_sharing()
    thread = SerialLiveServerThread("127.0.0.1", _StaticFilesHandler, connections_override=override)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()
    for conn in override.values():
        conn.dec_thread_sharing()
