"""config.queue sends tasks by name; a name no worker knows would be dropped without a word,
so every name the code queues — or sends by `send_task` — must be a registered task."""

from __future__ import annotations

import ast
from pathlib import Path

from django.db import transaction

from config import queue
from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
APPS = ("affiliates", "tracking", "commissions", "payouts", "dashboard", "config", "webhooks")
SENDERS = {"enqueue_on_commit", "send_now", "send_task"}


def _queued_names() -> dict[str, str]:
    """Every string literal passed first to a sender, with where it was found."""
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                first = node.args[0]
                if name in SENDERS and isinstance(first, ast.Constant):
                    found[first.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_queued_task_name_is_registered():
    celery_app.loader.import_default_modules()
    names = _queued_names()

    missing = {n: where for n, where in names.items() if n not in celery_app.tasks}

    assert names, "the scan found no queued task at all — is it looking in the right place?"
    assert not missing, f"queued by a name no task registers: {missing}"


def test_a_task_is_sent_only_after_commit_and_not_on_rollback(monkeypatch, transactional_db):
    sent = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, kwargs: sent.append((name, kwargs)))

    with transaction.atomic():
        queue.enqueue_on_commit("ambassador.ping", a=1)
        assert sent == []
    try:
        with transaction.atomic():
            queue.enqueue_on_commit("ambassador.ping", a=2)
            raise RuntimeError("roll back")
    except RuntimeError:
        pass

    assert sent == [("ambassador.ping", {"a": 1})]


def test_a_broker_outage_is_logged_not_raised(monkeypatch, caplog):
    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(celery_app, "send_task", down)

    queue.send_now("ambassador.ping", a=1)

    assert "Could not enqueue ambassador.ping" in caplog.text
