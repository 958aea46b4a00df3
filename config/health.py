"""Liveness and readiness probes.

Both are answered by `config.middleware.HealthProbeMiddleware` before host validation and the
HTTPS redirect (load balancers probe over plain http with an IP as Host); the URLconf keeps
them too so `reverse()` and the username reservation see them. The readiness body names what
is down and nothing else: exception text carries hosts, ports and sometimes credentials
(a broker URL with its password), and the probe answers anyone who can reach it.
"""

import logging

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

log = logging.getLogger(__name__)


def live(request: HttpRequest) -> HttpResponse:
    # Touches nothing (no database, no cache, no session): also the bare-view benchmark baseline.
    return HttpResponse("ok", content_type="text/plain")


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ready"
        # The class only: the message of a connection error names the host.
        log.warning("readiness: database down (%s)", type(exc).__name__)
        return False
    return True


def _broker_ok() -> bool:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        log.warning("readiness: broker down (%s)", type(exc).__name__)
        return False
    return True


def ready(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    down = [name for name, ok in checks.items() if not ok]
    body = {
        "status": "ok" if not down else "unavailable",
        "checks": {name: ("ok" if ok else "down") for name, ok in checks.items()},
        "down": down,
    }
    return JsonResponse(body, status=503 if down else 200)
