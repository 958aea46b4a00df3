"""Liveness and readiness probes."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse


def live(request: HttpRequest) -> HttpResponse:
    # Touches nothing (no database, no cache, no session): also the bare-view benchmark baseline.
    return HttpResponse("ok", content_type="text/plain")


def _database_ok() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ready"; the reason goes in the JSON
        return f"{type(exc).__name__}: {exc}"
    return None


def _broker_ok() -> str | None:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def ready(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    down = {name: error for name, error in checks.items() if error}
    body = {
        "status": "ok" if not down else "unavailable",
        "checks": {n: ("down" if n in down else "ok") for n in checks},
    }
    if down:
        body["errors"] = down
    return JsonResponse(body, status=503 if down else 200)
