#!/usr/bin/env python
"""Benchmark of the tracked redirect (the fast lane, config.wsgi) against /healthz/live.

Starts gunicorn (2 sync workers unless told otherwise; the worker class is printed) on
PostgreSQL with persistent connections and Redis (resolver cache + click buffer), seeds N
affiliates (one INSERT … SELECT generate_series per table: a million in seconds), fills the
resolver cache as steady traffic leaves it (pipelined HSETs) and prints its memory in Redis,
then drives `/healthz/live` and `/r/blog/post/<random username>` with `wrk -t2 -c32
--latency` in turn, as behind a TLS proxy (X-Forwarded-Proto: https, a browser's
User-Agent), flushing the click buffer every 2 s as the beat job would. Prints req/s of both,
the ratio, p50/p99, clicks recorded vs honoured redirects, and each run's CPU time per request
over every process on the machine (gunicorn, Redis, PostgreSQL, wrk, the flush), read from
/proc: the ratio says how fast, the CPU line where the cost went. With one sync worker per
core the redirect's Redis round trip leaves a core idle while its worker waits; `--workers 4`
(the Dockerfile's) shows the same code with that wait filled.

    .venv/bin/python bench/redirect.py                          # 10,000 affiliates, 10 s
    .venv/bin/python bench/redirect.py --affiliates 1000000     # the same at a million
    .venv/bin/python bench/redirect.py --affiliates 500 --duration 3   # a quick dev run
    .venv/bin/python bench/redirect.py --no-hiredis             # redis-py's pure-Python parser
    .venv/bin/python bench/redirect.py --workers 4              # as the Dockerfile runs it

Uses its own database (amb_bench, dropped and re-created) and Redis db 4 by default.
Goal (issue 13): redirect >= 1.0x /healthz/live, p99 <= 25 ms at 32 connections, clicks
recorded = honoured, the same ratio with 1,000,000 affiliates as with 10,000.
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

# Both runs drive wrk through the same script: requests built once in init() and cycled by
# request(), no response() callback. wrk shares the two cores with the server, and its
# SCRIPTING guide warns that building a request per call is expensive and a response()
# callback makes it collect every answer's headers and body; paid by one run only, that cost
# would be counted against that endpoint. Honoured redirects are counted from the server's
# access log instead. PATHS: a Lua expression for the i-th request's path.
LUA = r"""
HEADERS = {["User-Agent"] = "%(ua)s", ["X-Forwarded-Proto"] = "https"}
local requests = {}
local next_request = 0
function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  for i = 1, %(distinct)d do
    requests[i] = wrk.format("GET", %(path)s, HEADERS)
  end
end
function request()
  next_request = next_request %% #requests + 1
  return requests[next_request]
end
"""
LIVE_PATH = '"/healthz/live"'
# A random affiliate's link per request (up to DISTINCT_LINKS different ones per wrk thread).
REDIRECT_PATH = 'string.format("/r/blog/post/bench%%07d?plan=pro", math.random(0, %(n)d - 1))'
DISTINCT_LINKS = 50_000


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--affiliates", type=int, default=10_000, help="affiliates to seed")
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    p.add_argument("--worker-class", default="sync", help="gunicorn -k (sync, gthread…)")
    p.add_argument("--worker-threads", type=int, default=1, help="gunicorn --threads")
    p.add_argument(
        "--no-hiredis", action="store_true", help="hide hiredis: redis-py's Python parser"
    )
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
        # Production's security settings, behind a TLS proxy (wrk sends X-Forwarded-Proto).
        SECURE_SSL_REDIRECT="true",
        SECURE_HSTS_SECONDS="31536000",
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
    # Every app: the seeded tables are the models as they are now (migrating only tracking's
    # dependencies left columns added by later affiliates migrations missing).
    subprocess.run([PY, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)


def _insert_select(model, n: int, varying: dict[str, str]) -> None:
    """INSERT n rows of `model` in one statement: `varying` columns are SQL expressions of
    i (0 … n-1), every other column takes the model's default, read from a template
    instance, so a column added later with a default needs no change here."""
    from django.db import connection

    template = model()
    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        columns.append(f'"{field.column}"')
        if field.column in varying:
            values.append(varying[field.column])
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(getattr(template, field.attname), connection))
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" ({", ".join(columns)}) SELECT {", ".join(values)} '
            f"FROM generate_series(0, {n - 1}) AS i",
            params,
        )
        # Explicit ids: move the identity past them.
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n})",
        )


def seed(n: int) -> None:
    from django.db import transaction

    from affiliates.models import Affiliate, User, Username

    name = "'bench' || lpad(i::text, 7, '0')"
    with transaction.atomic():
        _insert_select(
            User,
            n,
            {
                "id": "i + 1",
                "email": f"{name} || '@bench.test'",
                "password": "'!'",
                "date_joined": "now()",
            },
        )
        _insert_select(
            Affiliate,
            n,
            {
                "id": "i + 1",
                "user_id": "i + 1",
                "username": name,
                "public_id": "'p' || lpad(to_hex(i), 12, '0')",
                "status": f"'{Affiliate.Status.APPROVED.value}'",
                "applied_at": "now()",
                "approved_at": "now()",
                "created_at": "now()",
            },
        )
        _insert_select(
            Username,
            n,
            {"id": "i + 1", "affiliate_id": "i + 1", "name": name, "created_at": "now()"},
        )


def warm(client) -> None:
    """The resolver cache as steady traffic leaves it: every name's answer in the current
    generation's hash (affiliates.resolver_cache's protocol), pipelined."""
    from django.db import connection

    from affiliates import resolver_cache
    from affiliates.resolver_cache import ResolvedAffiliate

    generation = resolver_cache.current_generation(client)
    key = resolver_cache.answers_key(generation)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.name, a.id, a.public_id, a.username, a.status FROM affiliates_username u "
            "JOIN affiliates_affiliate a ON a.id = u.affiliate_id"
        )
        while rows := cursor.fetchmany(20_000):
            mapping = {
                r[0]: resolver_cache.encode_answer(ResolvedAffiliate(r[1], r[2], r[3], r[4]))
                for r in rows
            }
            client.hset(key, mapping=mapping)
    client.expire(key, resolver_cache.ANSWERS_TTL)


def resolver_memory(client) -> tuple[int, int]:
    """(bytes of the answers hash, Redis used_memory)."""
    from affiliates import resolver_cache

    key = resolver_cache.answers_key(resolver_cache.current_generation(client))
    return client.memory_usage(key, samples=0) or 0, client.info("memory")["used_memory"]


def wait_up(port: int) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/live", timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(
    args: argparse.Namespace, url: str, script: str | None = None, headers: dict | None = None
) -> dict:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    if script:
        cmd += ["-s", script]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
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
    return result


def cpu_by_process() -> dict[str, float]:
    """CPU seconds used so far by every process on the machine, by name (gunicorn, wrk,
    redis-server, postgres; this script itself, whose flusher thread does the beat job's work,
    as "bench"): the difference over a run says where each request's cost went."""
    tick = os.sysconf("SC_CLK_TCK")
    me = os.getpid()
    used: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        name = (
            "bench" if int(stat.parent.name) == me else text[text.index("(") + 1 : text.rindex(")")]
        )
        fields = text[text.rindex(")") + 2 :].split()
        used[name] = used.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    # wrk has exited by the time a run is read: its time is this process's children's.
    children = os.times()
    used["wrk"] = children.children_user + children.children_system
    return used


def cpu_per_request(before: dict[str, float], after: dict[str, float], requests: int) -> str:
    """µs of CPU per request, per process name, the largest first."""
    spent = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    top = sorted(((v, k) for k, v in spent.items() if v > 0.05), reverse=True)
    total = sum(v for v, _ in top)
    parts = ", ".join(f"{k} {v / requests * 1e6:.0f}" for v, k in top[:6])
    return f"{total / requests * 1e6:.0f} µs CPU per request ({parts})"


def hide_hiredis(env: dict[str, str]) -> None:
    """redis-py uses hiredis whenever it can import it: a module that refuses to import,
    first on the path, gives gunicorn's workers the pure-Python parser."""
    shadow = Path(tempfile.mkdtemp(prefix="bench-no-hiredis-"))
    (shadow / "hiredis.py").write_text("raise ImportError('hidden by bench/redirect.py')\n")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shadow), env.get("PYTHONPATH")]))


def main() -> None:
    args = parse_args()
    env = bench_env(args)
    if args.no_hiredis:
        hide_hiredis(env)
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
    sys.path.insert(0, str(ROOT))
    parser = "redis-py's Python parser" if args.no_hiredis else "hiredis when installed"
    print(
        f"# bench/redirect.py: {args.affiliates:,} affiliates; gunicorn {args.workers} workers "
        f"-k {args.worker_class} --threads {args.worker_threads}; wrk -t{args.threads} "
        f"-c{args.connections} -d{args.duration}s; buffer={args.click_buffer}; {parser}; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start"
    )
    recreate_database(args.database_url)
    migrate(env)

    import django

    django.setup()
    from django.db import connection

    from tracking import clicks
    from tracking.models import Click

    redis = clicks.redis_client()
    redis.flushdb()
    t0 = time.perf_counter()
    seed(args.affiliates)
    seeded = time.perf_counter() - t0
    before = redis.info("memory")["used_memory"]
    warm(redis)
    hash_bytes, used = resolver_memory(redis)
    print(
        f"seeded {args.affiliates:,} affiliates in {seeded:.1f}s, resolver cache filled in "
        f"{time.perf_counter() - t0 - seeded:.1f}s"
    )
    print(
        f"resolver memory in Redis: answers hash {hash_bytes / 2**20:.1f} MiB "
        f"({hash_bytes / args.affiliates:.0f} B per affiliate; MEMORY USAGE), "
        f"used_memory {before / 2**20:.1f} -> {used / 2**20:.1f} MiB (INFO memory)"
    )
    # The seed's dirty pages written out now, not during the first wrk run (a million rows'
    # writeback slowed whichever endpoint ran first).
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    os.sync()
    connection.close()

    access_log = tempfile.mktemp(suffix=".log", prefix="bench-access-")
    gunicorn = subprocess.Popen(
        [
            GUNICORN,
            "config.wsgi",
            "-w",
            str(args.workers),
            "-k",
            args.worker_class,
            "--threads",
            str(args.worker_threads),
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

    headers = {"User-Agent": CHROME, "X-Forwarded-Proto": "https"}
    try:
        wait_up(args.port)
        base = f"http://127.0.0.1:{args.port}"
        # Warm every worker (imports, the lane's first request) so both runs measure the
        # steady state.
        for i in range(args.workers * 8):
            for path in ("/healthz/live", f"/r/blog/post/bench{i % args.affiliates:07d}"):
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                assert response.status in (200, 302), (path, response.status)
                conn.close()
        scripts = {}
        for name, path, distinct in (
            ("live", LIVE_PATH, 1),
            ("redirect", REDIRECT_PATH % {"n": args.affiliates}, DISTINCT_LINKS),
        ):
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
                f.write(LUA % {"ua": CHROME, "path": path, "distinct": distinct})
                scripts[name] = f.name
        cpu = cpu_by_process()
        live = run_wrk(args, base + "/", scripts["live"])
        live["cpu"] = cpu_per_request(cpu, cpu_by_process(), live["requests"])
        thread = threading.Thread(target=flusher, daemon=True)
        thread.start()
        cpu = cpu_by_process()
        redirect = run_wrk(args, base + "/", scripts["redirect"])
        redirect["cpu"] = cpu_per_request(cpu, cpu_by_process(), redirect["requests"])
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
    print(
        f"load average {os.getloadavg()[0]:.1f} at the end (the figures are shared-machine figures)"
    )
    print()
    print(f"{'endpoint':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'requests':>10}{'errors':>8}")
    for label, r in (("/healthz/live", live), ("/r/blog/post/<user>", redirect)):
        print(
            f"{label:<22}{r['rps']:>10.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}"
            f"{r['requests']:>10}{r['bad']:>8}"
        )
    for label, r in (("/healthz/live", live), ("redirect", redirect)):
        print(f"{label}: {r['cpu']}")
    print(f"ratio redirect / live: {ratio:.2f}x  (goal >= 1.00x)")
    print(f"redirect p99: {redirect['p99']:.2f} ms  (goal <= 25 ms)")
    print(
        f"clicks recorded: {recorded}  honoured redirects (server log): {honoured}  "
        f"({'equal' if recorded == honoured else 'MISMATCH'})"
    )


if __name__ == "__main__":
    main()
