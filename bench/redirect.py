#!/usr/bin/env python
"""Benchmark of the tracked redirect against the bare /healthz/live view.

Starts gunicorn (sync workers = cores) on PostgreSQL with persistent connections and Redis
(resolver cache + click buffer), seeds N affiliates, warms the resolver cache, then drives
`/healthz/live` and `/r/blog/post/<random username>` with `wrk -t2 -c32 --latency` in turn,
flushing the click buffer in the background every 2 s as the beat job would. Prints req/s of
both, the ratio, p50/p99 and clicks recorded vs honoured redirects.

    .venv/bin/python bench/redirect.py                       # defaults: 10,000 affiliates, 10 s
    .venv/bin/python bench/redirect.py --affiliates 500 --duration 3   # a quick dev run

Uses its own database (amb_bench, dropped and re-created) and Redis db 4 by default.
Goal (issue 4): redirect >= 0.5x /healthz/live, p99 <= 50 ms, clicks recorded = honoured.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36"
)

LUA = r"""
local names = {%(names)s}
honoured = 0
local counters = {}
function setup(thread)
  table.insert(counters, thread)
end
function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end
function request()
  local name = names[math.random(#names)]
  return wrk.format("GET", "/r/blog/post/" .. name .. "?plan=pro", {["User-Agent"] = "%(ua)s"})
end
function response(status, headers, body)
  if status == 302 and headers["Set-Cookie"] ~= nil then
    honoured = honoured + 1
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(counters) do
    total = total + thread:get("honoured")
  end
  io.write(string.format("HONOURED %%d\n", total))
end
"""


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--affiliates", type=int, default=10_000, help="affiliates to seed")
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/amb_bench",
        help="dropped and re-created",
    )
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/4", help="flushed first")
    p.add_argument("--click-buffer", default="redis", choices=["redis", "db"])
    return p.parse_args()


def bench_env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        CLICK_BUFFER=args.click_buffer,
        CONN_MAX_AGE="600",
        DEBUG="false",
        SECRET_KEY="bench-secret-key-not-for-production-0123456789",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    return env


def recreate_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def migrate(env: dict[str, str]) -> None:
    # Only what the redirect needs (and its dependencies): the bench does not depend on the
    # other apps' migrations.
    for app in ("tracking", "sessions", "axes"):
        subprocess.run(
            [PY, "manage.py", "migrate", app, "--verbosity", "0"], cwd=ROOT, env=env, check=True
        )


def seed_and_warm(n: int) -> list[str]:
    from django.core.cache import cache
    from django.utils import timezone

    from affiliates.models import Affiliate, User, Username
    from affiliates.selectors import resolve_username

    cache.clear()
    now = timezone.now()
    users = User.objects.bulk_create(
        [User(email=f"bench{i}@bench.test", password="!", date_joined=now) for i in range(n)],
        batch_size=2000,
    )
    affs = Affiliate.objects.bulk_create(
        [
            Affiliate(
                user=u,
                username=f"bench{i:05d}",
                status=Affiliate.Status.APPROVED,
                approved_at=now,
                applied_at=now,
                created_at=now,
            )
            for i, u in enumerate(users)
        ],
        batch_size=2000,
    )
    Username.objects.bulk_create(
        [Username(name=a.username, affiliate=a, created_at=now) for a in affs], batch_size=2000
    )
    names = [a.username for a in affs]
    for name in names:  # the resolver cache, as steady traffic leaves it
        resolve_username(name)
    return names


def wait_up(port: int) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/live", timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(args: argparse.Namespace, url: str, script: str | None = None) -> dict:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    if script:
        cmd += ["-s", script]
    proc = subprocess.run(cmd + [url], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"wrk failed: {proc.stdout}{proc.stderr}")
    out = proc.stdout
    result = {"raw": out, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    result["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        result[f"p{pct}"] = float(m.group(1)) * _UNIT[m.group(2)] if m else float("nan")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["bad"] = int(bad.group(1)) if bad else 0
    honoured = re.search(r"HONOURED (\d+)", out)
    result["honoured"] = int(honoured.group(1)) if honoured else None
    return result


def main() -> None:
    args = parse_args()
    env = bench_env(args)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    print(
        f"# bench/redirect.py: {args.affiliates} affiliates, {args.workers} sync workers, "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, buffer={args.click_buffer}"
    )
    recreate_database(args.database_url)
    migrate(env)

    import django

    django.setup()
    from django.db import connection

    from tracking import clicks
    from tracking.models import Click

    t0 = time.perf_counter()
    names = seed_and_warm(args.affiliates)
    print(f"seeded and cached {len(names)} affiliates in {time.perf_counter() - t0:.1f}s")
    connection.close()

    access_log = tempfile.mktemp(suffix=".log", prefix="bench-access-")
    gunicorn = subprocess.Popen(
        [
            GUNICORN,
            "config.wsgi",
            "-w",
            str(args.workers),
            "-k",
            "sync",
            "-b",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
            # Server-side count of honoured redirects (302 that set the cookie): wrk does not
            # see the answers still in flight when it stops.
            "--access-logfile",
            access_log,
            "--access-logformat",
            "%(s)s %(U)s %({set-cookie}o)s",
        ],
        cwd=ROOT,
        env=env,
    )
    stop = threading.Event()
    flushed = [0]

    def flusher() -> None:  # what beat + a worker do: tracking.flush_clicks every 2 s
        while not stop.wait(2.0):
            flushed[0] += clicks.flush_clicks()

    try:
        wait_up(args.port)
        base = f"http://127.0.0.1:{args.port}"
        # Warm every worker (lazy URLconf, imports) so both runs measure the steady state.
        for i in range(args.workers * 8):
            for path in ("/healthz/live", f"/r/blog/post/{names[i % len(names)]}"):
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
                conn.request("GET", path, headers={"User-Agent": CHROME})
                conn.getresponse().read()
                conn.close()
        live = run_wrk(args, base + "/healthz/live")
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(LUA % {"names": ",".join(f'"{n}"' for n in names), "ua": CHROME})
            script = f.name
        thread = threading.Thread(target=flusher, daemon=True)
        thread.start()
        redirect = run_wrk(args, base + "/", script)
        stop.set()
        thread.join()
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
    while clicks.flush_clicks():
        pass
    recorded = Click.objects.filter(honoured=True).count()
    with open(access_log) as log:
        honoured = sum(1 for line in log if line.startswith("302 /r/") and "referral" in line)
    os.unlink(access_log)
    ratio = redirect["rps"] / live["rps"]
    print()
    print(f"{'endpoint':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'requests':>10}{'errors':>8}")
    for label, r in (("/healthz/live", live), ("/r/blog/post/<user>", redirect)):
        print(
            f"{label:<22}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}"
            f"{r['requests']:>10}{r['bad']:>8}"
        )
    print(f"ratio redirect / live: {ratio:.2f}x  (goal >= 0.50x)")
    print(f"redirect p99: {redirect['p99']:.2f} ms  (goal <= 50 ms)")
    print(
        f"clicks recorded: {recorded}  honoured redirects (server log): {honoured}  "
        f"({'equal' if recorded == honoured else 'MISMATCH'}; wrk saw {redirect['honoured']} "
        f"honoured before it stopped)"
    )


if __name__ == "__main__":
    main()
