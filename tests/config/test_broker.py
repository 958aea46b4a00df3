"""The file-system broker (make run's) never shows a worker a half-written message.

kombu's own transport creates the message file, then writes it: a worker polling in between
reads an empty file and dies ("Unrecoverable error: JSONDecodeError"), which stopped `make
run` once under load. Ours writes a hidden file and renames it into place."""

from __future__ import annotations

import json
import os

import pytest
from kombu import Connection
from kombu.transport import filesystem

from config import broker


def _queue(tmp_path, transport):
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    connection = Connection("filesystem://", transport=transport, transport_options=options)
    return connection, connection.SimpleQueue("race")


def test_the_celery_app_uses_the_atomic_transport_on_the_file_system_broker(settings):
    from config.celery import app

    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.skip("Redis is the broker in this run")
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, broker.Transport)


def test_kombus_own_transport_lets_a_reader_see_an_empty_message(tmp_path, monkeypatch):
    writer, sending = _queue(tmp_path, filesystem.Transport)
    reader, receiving = _queue(tmp_path, filesystem.Transport)
    seen = []

    def lock_then_poll(f, flags):  # the writer is paused after open(), before write()
        try:
            receiving.get(block=False)
        except Exception as exc:
            seen.append(exc)

    monkeypatch.setattr(filesystem, "lock", lock_then_poll)
    sending.put({"n": 1})

    assert any(isinstance(exc, json.JSONDecodeError) for exc in seen), seen
    writer.release(), reader.release()


def test_our_message_is_invisible_until_it_is_whole(tmp_path, monkeypatch):
    writer, sending = _queue(tmp_path, broker.Transport)
    reader, receiving = _queue(tmp_path, broker.Transport)
    real_replace, polls = os.replace, []

    def poll_then_replace(src, dst):  # the writer is paused before the rename
        with pytest.raises(receiving.Empty):
            receiving.get(block=False)
        polls.append(os.path.getsize(src))
        real_replace(src, dst)

    monkeypatch.setattr(broker.os, "replace", poll_then_replace)
    sending.put({"n": 1, "pad": "x" * 10_000})
    message = receiving.get(timeout=5)

    assert polls and polls[0] > 10_000
    assert message.payload["n"] == 1
    assert [f for f in os.listdir(tmp_path) if f.endswith(".tmp")] == []
    writer.release(), reader.release()
