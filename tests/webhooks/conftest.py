"""A real HTTP receiver on 127.0.0.1, and the test process as the webhooks worker."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery import current_app

from webhooks import services


@dataclass
class Receiver:
    """Answers each POST with the next status of `script` (the last one repeats), after
    `delay` seconds; keeps every request's headers and raw body."""

    script: list[int] = field(default_factory=lambda: [200])
    delay: float = 0.0
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver():
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            state.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            time.sleep(state.delay)
            n = len(state.requests) - 1
            status = state.script[min(n, len(state.script) - 1)]
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            try:
                self.wfile.write(b"ok")
            except BrokenPipeError:  # the sender gave up (its timeout): that is the point
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/ambassador?src=test"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    # The receivers here live on 127.0.0.1; production refuses private addresses.
    settings.WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def sent_tasks(monkeypatch) -> list[tuple[str, dict]]:
    """Tasks sent to the broker, kept here instead (the test process is the worker)."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        current_app, "send_task", lambda name, kwargs=None, **kw: sent.append((name, kwargs))
    )
    return sent


def run_sent(sent: list[tuple[str, dict]]) -> list[str]:
    """Run the queued webhooks tasks through Celery's own apply(), as a worker would."""
    from webhooks import tasks  # noqa: F401 (registers the tasks)

    out = []
    while sent:
        name, kwargs = sent.pop(0)
        if name.startswith("webhooks."):
            out.append(current_app.tasks[name].apply(kwargs=kwargs).get())
    return out


def make_endpoint(url: str, events=None, *, now):
    endpoint, secret = services.create_endpoint(url=url, events=events, now=now)
    return endpoint, secret


def attempt_sent_at(sent: list[tuple[str, dict]], now) -> list[str]:
    """Run the queued send tasks' service as of `now` (time is an input: a retry schedule
    of three days is driven here by the clock the test chooses)."""
    out = []
    while sent:
        name, kwargs = sent.pop(0)
        if name == "webhooks.send_delivery":
            out.append(services.attempt_delivery(**kwargs, now=now))
    return out
