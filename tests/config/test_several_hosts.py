"""More than one machine: two web servers (gunicorn) and two Celery workers, real processes,
against one PostgreSQL and one Redis, as two hosts behind a load balancer would run them.
Tracked redirects go to both servers while API signups and payments arrive at both; half-way
one worker's host dies (SIGKILL to its whole process group). Afterwards every honoured
redirect is a click row exactly once — the ids the visitors' `referral_click` cookies name,
no more, no fewer — and every signup and payment is recorded once, with one commission.

The test process plays the one beat for the job under test: it sends `tracking.flush_clicks`
every second (beat's schedule says 2 s), and the two workers take turns running it.

The victim is killed while it holds no flush lock (just after it finished a flush, with none
queued). A flusher killed *inside* a flush loses nothing either — its batch stays in the
Redis `flushing` list and the next flush inserts it again (tests/tracking/test_clicks.py) —
but its lock then blocks every flush until the lock's expiry (clicks.LOCK_SECONDS, 15 s);
docs/scaling.md says so.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.utils import timezone

from affiliates.services import create_api_key
from commissions.models import CommissionEntry, Payment
from config.celery import app
from tests.factories import AffiliateFactory
from tracking import clicks
from tracking.links import CLICK_COOKIE_NAME, parse_click_cookie
from tracking.models import Click, Referral

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36"
)
TRAFFIC_SECONDS = 14
CUSTOMERS = 20  # per server: 20 signups + 20 payments at each
FLUSHED = re.compile(r"Task tracking\.flush_clicks\[[^\]]+\] succeeded")
RECEIVED = re.compile(r"Task [\w.]+\[[^\]]+\] received")
DONE = re.compile(r"Task [\w.]+\[[^\]]+\] (?:succeeded|raised|retry)")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (set REDIS_URL)"),
    pytest.mark.django_db(transaction=True),
]


def _burst():
    # bench/ is scripts, not a package: its signup + payment burst, loaded from the file.
    spec = importlib.util.spec_from_file_location("sqlite_burst", ROOT / "bench/sqlite_burst.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.burst


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _process_env() -> dict[str, str]:
    """The test database and Redis, as a production host would be configured."""
    db = settings.DATABASES["default"]
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    url = f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    drop = {"DATABASE_REPLICA_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        DATABASE_URL=f"{url}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        CLICK_BUFFER="redis",
        DEBUG="0",
        SECRET_KEY="several-hosts-test-secret-key-0123456789-abcdefghij",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    return env


def _wait(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz/live")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


class Visitors:
    """Threads following tracked links at both servers in turn, keeping the click id of
    every honoured redirect (the 302 that set the cookies)."""

    def __init__(self, ports: list[int], names: list[str]) -> None:
        self.ports, self.names = ports, names
        self.ids: list[int] = []
        self.per_port = dict.fromkeys(ports, 0)
        self.errors: list[str] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def run(self, n: int) -> None:
        port, name = self.ports[n % len(self.ports)], self.names[n % len(self.names)]
        while not self.stop.is_set():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", f"/r/blog/post/{name}?plan=pro", headers={"User-Agent": CHROME})
                response = conn.getresponse()
                response.read()
                cookies = response.msg.get_all("Set-Cookie") or []
                conn.close()
            except OSError as exc:
                with self._lock:
                    self.errors.append(f"{port}: {exc!r}")
                continue
            click = next((c for c in cookies if c.startswith(f"{CLICK_COOKIE_NAME}=")), None)
            with self._lock:
                if response.status != 302 or click is None:
                    self.errors.append(f"{port}: {response.status} {cookies}")
                    continue
                value = click.split(";", 1)[0].split("=", 1)[1]
                self.ids.append(parse_click_cookie(value)[0])
                self.per_port[port] += 1
            port = self.ports[(self.ports.index(port) + 1) % len(self.ports)]


def test_two_servers_and_two_workers_store_every_honoured_redirect_once_while_a_worker_dies(
    tmp_path,
):
    started = time.monotonic()
    marks: dict[str, float] = {}
    affiliates = [AffiliateFactory(username=f"host{i:02d}") for i in range(12)]
    _, key = create_api_key(name="several-hosts", now=timezone.now())
    env = _process_env()
    redis = clicks.redis_client()
    ports = [_free_port(), _free_port()]
    logs = {name: tmp_path / f"{name}.log" for name in ("web-a", "web-b", "w1", "w2")}
    processes: dict[str, subprocess.Popen] = {}
    visitors = Visitors(ports, [a.username for a in affiliates])
    beat_lock = threading.Lock()  # held by the kill below: no flush is sent meanwhile
    beat_stop = threading.Event()

    # The flushes go to each worker's own queue in turn (as the beat's one queue would, but
    # without letting one worker take them all), so both have flushed before w2 dies;
    # after, only to the survivor's.
    flush_queues = ["w1", "w2"]

    def beat() -> None:
        sent = 0
        while not beat_stop.wait(1.0):
            with beat_lock:
                app.send_task("tracking.flush_clicks", queue=flush_queues[sent % len(flush_queues)])
                sent += 1

    def start(name: str, argv: list[str]) -> None:
        with open(logs[name], "w") as log:
            # Own process group: "the host dies" kills the worker and its pool children.
            processes[name] = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    try:
        for name, port in zip(("web-a", "web-b"), ports, strict=True):
            start(name, [str(BIN / "gunicorn"), "config.wsgi", "-w", "2", "-k", "sync",
                         "-b", f"127.0.0.1:{port}", "--log-level", "warning"])  # fmt: skip
        for name in ("w1", "w2"):
            start(name, [str(BIN / "celery"), "-A", "config", "worker", "-n", f"{name}@%h",
                         "--concurrency=1", "--without-gossip", "--without-mingle",
                         "-Q", f"celery,{name}", "--loglevel=INFO"])  # fmt: skip
        _wait(lambda: all(_answers(p) for p in ports), 40, "both web servers")
        _wait(
            lambda: all("ready." in logs[w].read_text() for w in ("w1", "w2")),
            40,
            "both workers",
        )
        marks["up"] = time.monotonic() - started

        threads = [threading.Thread(target=visitors.run, args=(n,)) for n in range(6)]
        threads.append(threading.Thread(target=beat, name="beat"))
        bursts: list[dict] = []
        threads += [
            threading.Thread(
                target=lambda p=p: bursts.append(
                    _burst()(
                        url=f"http://127.0.0.1:{p}", key=key, referred_by="host00",
                        customers=CUSTOMERS, threads=2, run=f"p{p}",
                    )
                )
            )
            for p in ports
        ]  # fmt: skip
        for t in threads:
            t.start()

        # Half-way, w2's host dies: after it finished a flush, with nothing received since
        # and nothing queued (checked with the beat held, so no flush is sent meanwhile),
        # and once w1 has flushed too (so the survivor is seen working before and after).
        time.sleep(TRAFFIC_SECONDS / 2)
        deadline = time.monotonic() + 20
        while True:
            assert time.monotonic() < deadline, "w2 never went idle after a flush"
            with beat_lock:
                log = logs["w2"].read_text()
                idle = len(RECEIVED.findall(log)) == len(DONE.findall(log))
                survivor_flushed = FLUSHED.search(logs["w1"].read_text())
                queued = redis.llen("celery") + redis.llen("w2")
                if idle and FLUSHED.search(log) and survivor_flushed and queued == 0:
                    flush_queues.remove("w2")
                    os.killpg(processes["w2"].pid, signal.SIGKILL)
                    processes["w2"].wait(timeout=10)
                    break
            time.sleep(0.05)
        marks["killed"] = time.monotonic() - started
        flushes_before_kill = len(FLUSHED.findall(logs["w1"].read_text()))

        time.sleep(TRAFFIC_SECONDS / 2)
        visitors.stop.set()
        for t in threads:
            if t.name != "beat":
                t.join(timeout=60)
        # The survivor drains what the visitors left in Redis, flush after flush.
        _wait(
            lambda: (
                clicks.buffered_count() == 0
                and not redis.exists(clicks.LOCK_KEY)
                and Click.objects.filter(honoured=True).count() == len(visitors.ids)
            ),
            25,
            "w1 to flush every buffered click",
        )
        beat_stop.set()
    finally:
        beat_stop.set()
        visitors.stop.set()
        for proc in processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in processes.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    # Both servers served, nothing failed, and w2 really died (SIGKILL) while w1 went on.
    assert visitors.errors == [], marks
    assert all(n >= 10 for n in visitors.per_port.values()), visitors.per_port
    assert processes["w2"].returncode == -signal.SIGKILL
    assert len(FLUSHED.findall(logs["w1"].read_text())) > flushes_before_kill > 0
    # Every honoured redirect is stored exactly once: the cookies' click ids are distinct,
    # and they are exactly the stored honoured clicks' ids.
    assert None not in visitors.ids
    assert len(set(visitors.ids)) == len(visitors.ids)
    stored = list(Click.objects.filter(honoured=True).values_list("id", flat=True))
    assert sorted(stored) == sorted(visitors.ids)
    # Every signup and payment at either server recorded once: 2 × 20 referrals, 2 × 20
    # payments of 1000 minor units, each with one first-payment commission of
    # 1000 × 50 % (the default plan's first tier) = 500.
    assert [b["errors"] for b in bursts] == [0, 0], bursts
    assert Referral.objects.filter(customer_id__startswith="burst-p").count() == 2 * CUSTOMERS
    payments = Payment.objects.filter(external_id__startswith="pay-burst-p")
    assert sorted(p.amount for p in payments) == [1000] * 2 * CUSTOMERS
    entries = CommissionEntry.objects.filter(payment__in=payments)
    assert sorted(entries.values_list("payment_id", "kind", "amount")) == sorted(
        (p.pk, CommissionEntry.Kind.FIRST_PAYMENT, 500) for p in payments
    )
    # Bounded, not timed: ~60 s on a quiet 2-core box, 86-88 s at load 19; the bound catches
    # a hang (a server or worker that never answers), not slowness.
    assert time.monotonic() - started < 240, marks
