"""Health probes as a load balancer and Docker see them: plain http, the container's IP as
Host, DEBUG=0-like security settings. The answer is 200 or 503, never a redirect, and a 503
names what is down without hosts, ports or credentials."""

import http.server
import json
import re
import shlex
import subprocess
import threading
from pathlib import Path

import pytest
import yaml
from django.test import override_settings

from config.celery import app as celery_app

# As with DEBUG=0 (settings.py turns SECURE_SSL_REDIRECT on when DEBUG is off); ALLOWED_HOSTS
# is the public name only, as in production, while probes come with an IP as Host.
PRODUCTION_LIKE = override_settings(
    SECURE_SSL_REDIRECT=True, DEBUG=False, ALLOWED_HOSTS=["ambassador.example.com"]
)
ROOT = Path(__file__).resolve().parents[2]
BROKER_WITH_SECRET = "redis://:hunter2-secret@127.0.0.1:1/0"


@pytest.fixture
def broker_down():
    celery_app.conf.broker_url, old = BROKER_WITH_SECRET, celery_app.conf.broker_url
    yield
    celery_app.conf.broker_url = old


@PRODUCTION_LIKE
def test_live_over_plain_http_answers_200_not_a_redirect(client):
    response = client.get("/healthz/live", secure=False, HTTP_HOST="10.0.0.7:8000")

    assert response.status_code == 200
    assert response.content == b"ok"


@PRODUCTION_LIKE
@pytest.mark.django_db
def test_ready_over_plain_http_answers_200_not_a_redirect(client):
    response = client.get("/healthz/ready", secure=False, HTTP_HOST="10.0.0.7:8000")

    assert response.status_code == 200, response.content
    assert response.json()["down"] == []


@PRODUCTION_LIKE
@pytest.mark.django_db
def test_ready_over_plain_http_with_the_broker_down_is_503_naming_only_the_broker(
    client, broker_down
):
    response = client.get("/healthz/ready", secure=False, HTTP_HOST="127.0.0.1:8000")

    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "down"}
    assert body["down"] == ["broker"]
    # No URL, host, port, password or exception text: only the names of the checks.
    text = json.dumps(body)
    for leak in ("redis", "127.0.0.1", ":1", "hunter2", "Error", "refused"):
        assert leak not in text


@PRODUCTION_LIKE
def test_other_pages_still_redirect_to_https(client):
    # The exemption is for the probes only.
    response = client.get("/accounts/login/", secure=False, HTTP_HOST="ambassador.example.com")

    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_the_redirect_exemption_uses_djangos_setting_name():
    from django.conf import settings

    # SECURE_SSL_REDIRECT_EXEMPT is not read by Django; SECURE_REDIRECT_EXEMPT is, with
    # patterns matched against the path without its leading slash.
    assert not hasattr(settings, "SECURE_SSL_REDIRECT_EXEMPT")
    assert any(re.match(p, "healthz/ready") for p in settings.SECURE_REDIRECT_EXEMPT)


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (301, False), (503, False)])
def test_docker_compose_web_healthcheck_passes_only_on_a_2xx(status, healthy):
    # Docker cannot run here, so the compose file's own check command is run by sh against a
    # peer on 127.0.0.1 answering `status` (curl -f alone passed a 301 as healthy).
    command = _compose_web_healthcheck()
    server = http.server.HTTPServer(("127.0.0.1", 0), _answering(status))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        result = subprocess.run(
            ["sh", "-c", command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")],
            capture_output=True,
            timeout=30,
        )
    finally:
        server.shutdown()
        server.server_close()

    assert (result.returncode == 0) is healthy, result


def _compose_web_healthcheck() -> str:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    test = compose["services"]["web"]["healthcheck"]["test"]
    # Either form Docker accepts: ["CMD-SHELL", "<sh command>"] or ["CMD", argv…].
    command = test[1] if test[0] == "CMD-SHELL" else shlex.join(test[1:])
    assert "/healthz/ready" in command
    return command


def _answering(status: int) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            if status == 301:
                self.send_header("Location", "https://127.0.0.1/healthz/ready")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@override_settings(
    SECURE_SSL_REDIRECT=True,
    SECURE_HSTS_SECONDS=3600,
    DEBUG=False,
    ALLOWED_HOSTS=["ambassador.example.com"],
)
def test_live_asked_properly_runs_the_whole_middleware_stack(client):
    # The benchmarks' baseline is "a bare Django view through the full stack": over https
    # with an allowed Host, SecurityMiddleware (HSTS, nosniff) and the clickjacking
    # middleware have had their say — the probe shortcut above adds none of them.
    response = client.get("/healthz/live", secure=True, HTTP_HOST="ambassador.example.com")
    shortcut = client.get("/healthz/live", secure=False, HTTP_HOST="10.0.0.7:8000")

    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Strict-Transport-Security"].startswith("max-age=3600")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert shortcut.status_code == 200
    assert "Strict-Transport-Security" not in shortcut
