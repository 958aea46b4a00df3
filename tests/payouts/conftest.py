"""The local PayPal + Stripe Connect peer (devtools.peers) on 127.0.0.1, the
settings pointing the real SDKs at it, and a recorder in place of Celery enqueueing."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from config import queue
from devtools import peers
from payouts.gateways.registry import get_stripe_connect


class Peer:
    def __init__(self, server: peers.FakeServer) -> None:
        self.server = server
        self.base_url = server.base_url

    def control(self, _command: str, **data: Any) -> dict:
        request = urllib.request.Request(
            f"{self.base_url}/_control/{_command}",
            data=json.dumps(data).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
            return json.loads(response.read())

    def fail_next(
        self, path: str, mode: str, *, method: str = "POST", times: int = 1, seconds: float = 2
    ) -> None:
        self.control("fail", path=path, mode=mode, method=method, times=times, seconds=seconds)

    def state(self) -> dict:
        return self.control("state")

    def calls(self, key: str) -> int:
        return self.state()["calls"].get(key, 0)

    def signed_webhook(self, event: dict) -> tuple[bytes, dict[str, str]]:
        """A PayPal webhook body with headers the peer will verify as SUCCESS."""
        body = json.dumps(event).encode()
        transmission_id = self.server.state.next_id("TR")
        return body, {
            "HTTP_PAYPAL_TRANSMISSION_ID": transmission_id,
            "HTTP_PAYPAL_TRANSMISSION_TIME": "2026-11-02T12:00:00Z",
            "HTTP_PAYPAL_TRANSMISSION_SIG": self.server.state.sign(transmission_id, body),
            "HTTP_PAYPAL_CERT_URL": "https://fake.paypal.local/cert.pem",
            "HTTP_PAYPAL_AUTH_ALGO": "SHA256withRSA",
        }


@pytest.fixture(scope="session")
def _peer_server():
    server = peers.start_in_thread(webhook_id="WH-TEST")
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def peer(_peer_server) -> Peer:
    peer = Peer(_peer_server)
    peer.control("reset")
    return peer


@pytest.fixture(autouse=True)
def _providers(settings, peer, monkeypatch):
    settings.PAYPAL_CLIENT_ID = "fake-client"
    settings.PAYPAL_CLIENT_SECRET = "fake-secret"
    settings.PAYPAL_MODE = "sandbox"
    settings.PAYPAL_API_BASE = peer.base_url
    settings.PAYPAL_WEBHOOK_ID = "WH-TEST"
    settings.STRIPE_CONNECT_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_CONNECT_API_BASE = peer.base_url
    settings.PAYOUT_REQUIRE_APPROVAL = False
    # Short timeouts so the "timeout" failure mode costs a second, not half a minute.
    monkeypatch.setattr("payouts.gateways.paypal.TIMEOUT", (2, 1))
    monkeypatch.setattr("payouts.gateways.stripe_connect.TIMEOUT", 1)


@pytest.fixture(autouse=True)
def enqueued(monkeypatch) -> list[tuple[str, dict]]:
    """Tasks the services asked for, in order (tests run them by calling the service)."""
    calls: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        queue, "enqueue_on_commit", lambda name, **kwargs: calls.append((name, kwargs))
    )
    return calls


@pytest.fixture
def stripe_account(peer):
    """Create a connected Express account on the peer with payouts enabled; returns its id."""

    def make(email: str = "connect@example.org", enabled: bool = True) -> str:
        account_id = get_stripe_connect().create_account(
            email=email, country="US", affiliate_public_id="x"
        )["id"]
        if enabled:
            peer.control("stripe/account", id=account_id, payouts_enabled=True)
        return account_id

    return make
