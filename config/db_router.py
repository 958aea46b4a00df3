"""Read replica for dashboard and export reads (DATABASE_REPLICA_URL), everything else on the
primary.

A router sees a model and hints, never the request, so it cannot tell a dashboard read from
a payout run's read by itself. The request says so instead: `replica_reads` wraps the views
whose reads may be a little stale (the dashboard app's pages and CSVs) and sets a context
variable for the duration of the view *and* of a streamed response's iteration (a
StreamingHttpResponse runs its queries after the view returned). Everywhere else — the API,
webhooks, admin, /settings/, every Celery task (approval, payouts, ingest, flush, rollups) —
the variable is unset and the router answers "default" for reads and writes alike. So the
money jobs are on the primary by construction, not by remembering to mark them.

Inside a replica view a read still goes to the primary when:
- it is inside a transaction on the primary (`transaction.atomic`, select_for_update): the
  transaction's own writes and locks are only there, and a hot standby refuses both;
- the request has written to the primary already (an INSERT/UPDATE/DELETE went through its
  connection): read-your-writes;
- the model is the login machinery (sessions, auth, the user model, axes, contenttypes,
  admin's log): a user just logged in, logged out, locked out or deactivated is seen at once;
- the browser posted something within REPLICA_PIN_SECONDS (`PinPrimaryMiddleware`'s cookie):
  an application form → redirect to /dashboard/ must find the new affiliate, a renamed
  affiliate sees the new name, however far the replica lags.

Writes always go to "default", also for an object read from the replica (Django would
otherwise write it back where it came from). Migrations run on "default" only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from config.middleware import JSON_PREFIXES

REPLICA = "replica"
PIN_COOKIE = "amb_primary"
# Read by the login path on every request: a stale row here is a security question, not a
# display one.
PRIMARY_APPS = frozenset({"sessions", "auth", "contenttypes", "admin", "axes"})


class _Reads:
    """Per request (context): may reads go to the replica, and has the request written."""

    __slots__ = ("wrote",)

    def __init__(self) -> None:
        self.wrote = False


_reads: ContextVar[_Reads | None] = ContextVar("replica_reads", default=None)
_END = object()


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def _on_primary(model: type[Model]) -> bool:
    meta = model._meta
    return meta.app_label in PRIMARY_APPS or meta.label == settings.AUTH_USER_MODEL


class ReplicaRouter:
    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        state = _reads.get()
        if (
            state is None
            or state.wrote
            or _on_primary(model)
            or connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return DEFAULT_DB_ALIAS
        return REPLICA

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        # Also asked when a related object is merely assigned to an unsaved instance, so it
        # says nothing about whether the request wrote: _note_writes watches the SQL instead.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # Both aliases hold the same rows: a replica-read affiliate may own a primary row.
        aliases = {DEFAULT_DB_ALIAS, REPLICA}
        return True if {obj1._state.db, obj2._state.db} <= aliases else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE")


@contextmanager
def _replica_reads_on(state: _Reads) -> Iterator[None]:
    def note_writes(execute, sql, params, many, context):
        if sql.lstrip()[:6].upper().startswith(_WRITES):
            state.wrote = True
        return execute(sql, params, many, context)

    token = _reads.set(state)
    try:
        with connections[DEFAULT_DB_ALIAS].execute_wrapper(note_writes):
            yield
    finally:
        _reads.reset(token)


def _streamed_on_replica(chunks: Iterable[Any], state: _Reads) -> Iterator[Any]:
    """Each step of a streamed body runs with replica reads on, as the view did. Set and
    reset around every next(): the server may interleave other work between chunks."""
    iterator = iter(chunks)
    while True:
        with _replica_reads_on(state):
            chunk = next(iterator, _END)
        if chunk is _END:
            return
        yield chunk


def replica_reads(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For read-only pages that may lag the primary by the replica's delay (normally well
    under a second). A no-op without DATABASE_REPLICA_URL, for unsafe methods and for a
    browser pinned to the primary by a recent POST."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if (
            not replica_configured()
            or request.method not in ("GET", "HEAD")
            or PIN_COOKIE in request.COOKIES
        ):
            return view(request, *args, **kwargs)
        state = _Reads()
        with _replica_reads_on(state):
            response = view(request, *args, **kwargs)
        if isinstance(response, StreamingHttpResponse):
            response.streaming_content = _streamed_on_replica(response.streaming_content, state)
        return response

    return wrapper


class PinPrimaryMiddleware:
    """After a browser's POST/PUT/PATCH/DELETE, its next REPLICA_PIN_SECONDS of replica
    pages read the primary (a short-lived cookie, so every web host agrees without shared
    state). Installed only with DATABASE_REPLICA_URL; machine callers (API, webhooks) never
    read replica pages, so they get no cookie."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        safe = request.method in ("GET", "HEAD", "OPTIONS", "TRACE")
        if not safe and not request.path_info.startswith(JSON_PREFIXES):
            response.set_cookie(
                PIN_COOKIE,
                "1",
                max_age=settings.REPLICA_PIN_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
