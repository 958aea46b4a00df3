"""The embedded default under concurrency, as `make run` runs it: a SQLite *file*, a web server
process taking API signups and payments while other processes run the beat jobs that write
(rollups, click flush, the pending-events sweep) in a loop. Nothing may fail or be lost.

On main (deferred BEGIN, rollback journal) the API answered 500 "database is locked": a
transaction that reads then writes while another process writes fails at once, the busy
timeout does not cover that upgrade (PROVIDERS.md, SQLite)."""

from __future__ import annotations

import importlib.util
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = 120  # 120 signups + 120 payments

JOBS_LOOP = """
import os, sys, time
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
import django
django.setup()
from commissions.tasks import process_pending_events_task
from tracking.tasks import flush_clicks_task, refresh_rollups_task
deadline = time.monotonic() + float(sys.argv[1])
runs = 0
while time.monotonic() < deadline:
    refresh_rollups_task()
    flush_clicks_task()
    process_pending_events_task()
    runs += 1
print(runs)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _load_bench():
    spec = importlib.util.spec_from_file_location("sqlite_burst", ROOT / "bench/sqlite_burst.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def sqlite_file_env(tmp_path) -> dict[str, str]:
    db = tmp_path / "ambassador.sqlite3"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    # memory://: tasks enqueued by the web process go nowhere instead of into the repo's
    # var/broker; the jobs run in their own loop processes below.
    env.update(DATABASE_URL=f"sqlite:///{db}", CELERY_BROKER_URL="memory://", DEBUG="1")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [*manage, "create_affiliate", "ann@burst.example.org", "annburst", "--approved"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    env["_DB"] = str(db)
    return env


def _wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback)
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def test_api_writes_while_jobs_write_lose_nothing_on_a_sqlite_file(sqlite_file_env):
    env = sqlite_file_env
    key = (
        subprocess.run(
            [sys.executable, "manage.py", "create_api_key", "burst"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    port = _free_port()
    web = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    jobs = []
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz/live")
        # Two job loops, as worker concurrency 2 runs them, writing for the whole burst.
        jobs = [
            subprocess.Popen(
                [sys.executable, "-c", JOBS_LOOP, "25"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]

        result = _load_bench().burst(
            url=f"http://127.0.0.1:{port}",
            key=key,
            referred_by="annburst",
            customers=CUSTOMERS,
            threads=8,
            run="t",
        )

        outcomes = [job.communicate(timeout=120) for job in jobs]
    finally:
        for proc in (web, *jobs):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)

    # Then every call answered 2xx, the jobs ran throughout without an error ...
    assert result["errors"] == 0, result
    assert result["ok"] == 2 * CUSTOMERS
    for job, (out, err) in zip(jobs, outcomes, strict=True):
        assert job.returncode == 0, err[-2000:]
        assert int(out.strip().splitlines()[-1]) > 0
    # ... and every signup and payment is in the file: 120 referrals credited to annburst,
    # 120 payments of 1000 minor units.
    with sqlite3.connect(env["_DB"]) as db:
        referrals = db.execute(
            "SELECT count(*) FROM tracking_referral r JOIN affiliates_affiliate a"
            " ON a.id = r.affiliate_id WHERE r.customer_id LIKE 'burst-t-%'"
            " AND a.username = 'annburst'"
        ).fetchone()[0]
        payments = db.execute(
            "SELECT count(*), sum(amount) FROM commissions_payment"
            " WHERE external_id LIKE 'pay-burst-t-%'"
        ).fetchone()
        journal = db.execute("PRAGMA journal_mode").fetchone()[0]
    assert referrals == CUSTOMERS
    assert payments == (CUSTOMERS, CUSTOMERS * 1000)  # 120 × 1000 = 120,000
    assert journal == "wal"
