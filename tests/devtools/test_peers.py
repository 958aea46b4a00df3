"""The local payment peer outside the apps: `python -m devtools.peers` (what
bin/demo-peers.sh starts for `make run`) serves both providers. Tests drive it in-process
through tests/payouts/conftest.py."""

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _post(url: str, data: dict | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps(data or {}).encode())
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


def test_the_peer_runs_as_a_module_and_answers_both_providers():
    # given the command bin/demo-peers.sh runs, on a free port
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.peers", "--port", "0", "--webhook-id", "WH-CLI"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = process.stdout.readline().split()[-1]

        # when PayPal's token and a Connect account are asked for
        token = _post(f"{base_url}/v1/oauth2/token")
        account = urllib.request.urlopen(  # noqa: S310 (loopback)
            urllib.request.Request(f"{base_url}/v1/accounts", data=b"email=a%40example.org"),
            timeout=5,
        )
        state = _post(f"{base_url}/_control/state")

        # then both halves answered, and the peer counted the calls
        assert token["token_type"] == "Bearer"
        assert json.loads(account.read())["id"].startswith("acct_")
        assert state["accounts"] == 1
        assert state["calls"] == {"POST /v1/oauth2/token": 1, "POST /v1/accounts": 1}
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
