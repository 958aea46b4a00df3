"""`make run` (bin/run-all.sh) points AMBASSADOR_URL at the server it starts, so every link
Ambassador e-mails opens: checked by sourcing bin/run-env.sh as run-all.sh does and loading
the real settings in that environment, then sending the PayPal confirmation with them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from payouts.services import set_paypal_email
from tests.factories import AffiliateFactory

ROOT = Path(__file__).resolve().parents[2]
SHOW_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings; "
    "print(json.dumps([settings.AMBASSADOR_URL, settings.ALLOWED_HOSTS]))"
)


def _settings_under_make_run(host: str, port: str, **env: str) -> tuple[str, list[str]]:
    """(AMBASSADOR_URL, ALLOWED_HOSTS) as Django reads them in a process started the way
    bin/run-all.sh starts its processes (after `source bin/run-env.sh`)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("AMBASSADOR_URL", "ALLOWED_HOSTS")}
    clean.update(env, HOST=host, PORT=port, DJANGO_SETTINGS_MODULE="config.settings")
    script = f'source bin/run-env.sh && exec "{sys.executable}" -c "{SHOW_SETTINGS}"'
    out = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=clean, capture_output=True, text=True, check=True
    )
    url, hosts = json.loads(out.stdout.strip().splitlines()[-1])
    return url, hosts


@pytest.mark.parametrize(
    ("host", "port", "url", "allowed"),
    [
        ("127.0.0.1", "8000", "http://127.0.0.1:8000", "127.0.0.1"),
        ("192.168.1.20", "8107", "http://192.168.1.20:8107", "192.168.1.20"),
        ("0.0.0.0", "9000", "http://127.0.0.1:9000", "127.0.0.1"),
        ("::1", "8000", "http://[::1]:8000", "[::1]"),
    ],
)
def test_make_run_sets_ambassador_url_from_its_host_and_port(host, port, url, allowed):
    ambassador_url, allowed_hosts = _settings_under_make_run(host, port)

    assert ambassador_url == url
    assert allowed in allowed_hosts and "localhost" in allowed_hosts


def test_an_ambassador_url_already_set_wins_and_its_host_is_allowed():
    ambassador_url, allowed_hosts = _settings_under_make_run(
        "127.0.0.1", "8000", AMBASSADOR_URL="https://partners.example.com/"
    )

    assert ambassador_url == "https://partners.example.com"  # settings strip the slash
    assert "partners.example.com" in allowed_hosts


def test_run_all_sources_the_environment_before_it_migrates_seeds_or_serves():
    script = (ROOT / "bin" / "run-all.sh").read_text()
    makefile = (ROOT / "Makefile").read_text()

    sourced = script.index("source bin/run-env.sh")
    assert sourced < script.index("manage.py migrate") < script.index("manage.py seed_demo")
    assert sourced < script.index("manage.py runserver")
    assert "bash bin/run-all.sh $(HOST) $(PORT)" in makefile


@pytest.mark.django_db
def test_the_paypal_confirmation_link_opens_on_the_server_make_run_started(
    mailoutbox, django_capture_on_commit_callbacks, now
):
    url, _ = _settings_under_make_run("192.168.1.20", "8107")
    affiliate = AffiliateFactory()

    with override_settings(AMBASSADOR_URL=url), django_capture_on_commit_callbacks(execute=True):
        set_paypal_email(
            affiliate=affiliate, email="me@paypal.test", now=now, password="pass-1234-word"
        )

    body = next(m.body for m in mailoutbox if m.to == ["me@paypal.test"])
    assert "http://192.168.1.20:8107/payouts/paypal/confirm/" in body
