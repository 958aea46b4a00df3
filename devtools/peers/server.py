"""The peer's HTTP server: one threaded server on 127.0.0.1 answering both providers (the
SDKs are pointed at it by PAYPAL_API_BASE and STRIPE_CONNECT_API_BASE), the state that joins
their halves (devtools.peers.paypal, devtools.peers.stripe_connect), failure injection and
the control endpoints, and the command line (`python -m devtools.peers`).

Generic control, JSON bodies (the providers add their own, see their modules):
- `POST /_control/fail` {"method", "path" (prefix), "mode": "5xx"|"timeout"|"crash_after_accept",
  "times": n, "seconds": s}: the next n matching calls fail that way. "timeout" and
  "crash_after_accept" first do the work, then stall / drop the connection without an answer.
- `POST /_control/reset`; `GET /_control/state` → counts of calls and objects.
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import devtools.peers.paypal as paypal
import devtools.peers.stripe_connect as stripe_connect
from devtools.peers.base import PeerRequest, Reply
from devtools.peers.paypal import PayPalState
from devtools.peers.stripe_connect import StripeConnectState


class FakeState(PayPalState, StripeConnectState):
    def __init__(self, webhook_id: str = "WH-FAKE", webhook_url: str = "") -> None:
        self.lock = threading.RLock()
        self.base_url = ""  # set by FakeServer once bound (HATEOAS links are absolute)
        self.webhook_id = webhook_id
        self.webhook_url = webhook_url
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.seq = itertools.count(1)
            self.calls: dict[str, int] = {}
            self.failures: list[dict[str, Any]] = []
            self.reset_paypal()
            self.reset_stripe_connect()

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "calls": dict(self.calls),
                "paypal_batches": len(self.batches),
                "paypal_items": len(self.items),
                "transfers": len(self.transfers),
                "accounts": len(self.accounts),
            }

    def take_failure(self, method: str, path: str) -> dict[str, Any] | None:
        with self.lock:
            for failure in self.failures:
                if failure["method"] == method and path.startswith(failure["path"]):
                    failure["times"] -= 1
                    if failure["times"] <= 0:
                        self.failures.remove(failure)
                    return failure
        return None


class Handler(BaseHTTPRequestHandler):
    server: FakeServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.verbose:
            super().log_message(format, *args)

    @property
    def state(self) -> FakeState:
        return self.server.state

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        raw = self._body() if method == "POST" else b""
        if not path.startswith("/_"):
            with self.state.lock:
                key = f"{method} {path.rstrip('/').rsplit('/', 1)[0] if path.count('/') > 3 else path}"
                self.state.calls[key] = self.state.calls.get(key, 0) + 1
        failure = None if path.startswith("/_") else self.state.take_failure(method, path)
        if failure and failure["mode"] == "5xx":
            # Each provider's own error shape (see paypal.server_error for why a 5xx is safe).
            if path.startswith(paypal.PATH_PREFIXES):
                self._send(500, paypal.server_error())
            else:
                self._send(500, stripe_connect.server_error())
            return
        request = PeerRequest(
            method=method,
            path=path,
            parts=[p for p in path.split("/") if p],
            query=url.query,
            raw=raw,
            target=self.path,
            headers=self.headers,
        )
        status, payload, headers = self._route(request)
        if failure and failure["mode"] == "timeout":
            time.sleep(float(failure.get("seconds", 3)))
            self.close_connection = True
            return
        if failure and failure["mode"] == "crash_after_accept":
            self.close_connection = True
            return
        if status == 302:
            self.send_response(302)
            self.send_header("Location", payload)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send(status, payload, headers)

    def _route(self, req: PeerRequest) -> Reply:
        st = self.state
        if req.path.startswith("/_control/"):
            return self._control(req)
        for provider in (paypal, stripe_connect):
            reply = provider.route(st, req)
            if reply is not None:
                return reply
        return (
            404,
            {"error": {"type": "invalid_request_error", "message": f"No route {req.path}"}},
            {},
        )

    def _control(self, req: PeerRequest) -> Reply:
        st = self.state
        data = json.loads(req.raw or b"{}")
        with st.lock:
            if req.path == "/_control/reset":
                st.reset()
            elif req.path == "/_control/fail":
                data.setdefault("times", 1)
                data.setdefault("method", "POST")
                st.failures.append(data)
            elif req.path == "/_control/state":
                pass
            elif not (
                paypal.control(st, req.path, data) or stripe_connect.control(st, req.path, data)
            ):
                return 404, {"error": "unknown control"}, {}
        return 200, st.summary(), {}


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, state: FakeState, verbose: bool = False) -> None:
        super().__init__((host, port), Handler)
        self.state = state
        state.base_url = self.base_url
        self.verbose = verbose

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def start_in_thread(
    host: str = "127.0.0.1", port: int = 0, webhook_id: str = "WH-FAKE", webhook_url: str = ""
) -> FakeServer:
    """Start the peer on a free port in a daemon thread; `server.shutdown()` stops it."""
    server = FakeServer(host, port, FakeState(webhook_id=webhook_id, webhook_url=webhook_url))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.peers", description="Local fake PayPal Payouts + Stripe Connect."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8421)
    parser.add_argument("--webhook-id", default="WH-FAKE")
    parser.add_argument("--paypal-webhook-url", default="", help="Where to POST PayPal events.")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    state = FakeState(webhook_id=args.webhook_id, webhook_url=args.paypal_webhook_url)
    server = FakeServer(args.host, args.port, state, verbose=args.verbose)
    print(f"fake PayPal + Stripe Connect on {server.base_url}", flush=True)
    server.serve_forever()
