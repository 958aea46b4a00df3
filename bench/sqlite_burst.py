"""A burst of API signups and payments at a running Ambassador, to see that the embedded
SQLite stack (`make run`: web + worker + beat, all writing one file) loses nothing while the
rollup and flush jobs write. Prints errors and throughput; exits 1 on any error.

    make run                                   # in one terminal
    .venv/bin/python bench/sqlite_burst.py     # in another (creates an API key in var/)

Options: --url (default http://127.0.0.1:8000), --key (default: a new key from
`manage.py create_api_key`), --referred-by (default alice, an affiliate of the demo),
--customers N (default 200), --threads T (default 8). Each customer is one signup then one
payment of $10.00 (1000 minor units).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _post(url: str, key: str, body: dict) -> tuple[int, str]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (local)
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()[:300].decode("utf-8", "replace")
    except OSError as exc:
        return 0, f"{type(exc).__name__}: {exc}"


def burst(
    *, url: str, key: str, referred_by: str, customers: int, threads: int, run: str = ""
) -> dict:
    """Signup + payment for `customers` new customers over `threads` threads. Returns counts:
    `ok` (2xx answers), `errors` (anything else, with samples), `seconds`, `per_second`."""
    run = run or uuid.uuid4().hex[:8]
    paid_at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    statuses: Counter[int] = Counter()
    samples: list[str] = []
    lock = threading.Lock()
    todo = list(range(customers))

    def worker() -> None:
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop()
            customer = f"burst-{run}-{i}"
            calls = [
                (
                    "/api/v1/signups",
                    {
                        "customer_id": customer,
                        "email": f"{customer}@burst.example.net",
                        "referred_by": referred_by,
                    },
                ),
                (
                    "/api/v1/payments",
                    {
                        "payment_id": f"pay-{customer}",
                        "customer_id": customer,
                        "amount": 1000,
                        "currency": "USD",
                        "paid_at": paid_at,
                    },
                ),
            ]
            for path, body in calls:
                status, text = _post(url.rstrip("/") + path, key, body)
                with lock:
                    statuses[status] += 1
                    if not 200 <= status < 300 and len(samples) < 5:
                        samples.append(f"{path} → {status} {text}")

    started = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    seconds = time.monotonic() - started
    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
    return {
        "run": run,
        "requests": sum(statuses.values()),
        "ok": ok,
        "errors": sum(statuses.values()) - ok,
        "statuses": dict(statuses),
        "samples": samples,
        "seconds": round(seconds, 2),
        "per_second": round(sum(statuses.values()) / seconds, 1) if seconds else 0.0,
    }


def _new_key() -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", "create_api_key", f"sqlite-burst-{uuid.uuid4().hex[:6]}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", default="")
    parser.add_argument("--referred-by", default="alice")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    key = args.key or _new_key()
    result = burst(
        url=args.url,
        key=key,
        referred_by=args.referred_by,
        customers=args.customers,
        threads=args.threads,
    )
    print(f"run {result['run']}: {result['requests']} requests in {result['seconds']} s")
    print(f"  ok {result['ok']}, errors {result['errors']}, statuses {result['statuses']}")
    print(f"  throughput {result['per_second']} requests/s")
    for line in result["samples"]:
        print(f"  e.g. {line}")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
