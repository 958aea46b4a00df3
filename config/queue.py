"""Enqueue a Celery task once the current transaction commits — the one way app code queues
work (STYLE: "Enqueue from services with transaction.on_commit").

By name, so an app never imports another app's (or its own) `tasks` module to queue work:
tasks import services, services never import tasks, and there is no cycle. A name nothing
registers would be silently dropped by a worker, so `tests/config/test_queue.py` finds every
`enqueue_on_commit("…")` in the code and checks the name is a registered task.

If the transaction rolls back, nothing is sent. If the broker is down, the error is logged
and the caller goes on: every queued job has a periodic sweeper (config/celery.py) that
finds the row in its waiting state and does the work within minutes.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import transaction

log = logging.getLogger(__name__)


def enqueue_on_commit(task_name: str, /, **kwargs: Any) -> None:
    """Send `task_name(**kwargs)` to the broker after the surrounding transaction commits
    (at once outside a transaction)."""
    transaction.on_commit(lambda: send_now(task_name, **kwargs))


def send_now(task_name: str, /, **kwargs: Any) -> None:
    """Send `task_name(**kwargs)` to the broker now; a broker outage is logged, not raised."""
    try:
        current_app.send_task(task_name, kwargs=kwargs)
    except Exception:  # broker down: the task's sweeper picks the work up
        log.warning("Could not enqueue %s %s", task_name, kwargs, exc_info=True)
