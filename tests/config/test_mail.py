"""E-mail leaves through one Celery task, queued after commit and retried on transient SMTP
errors: a mail outage never turns a saved change into an error, and a rolled-back change
sends nothing."""

import os
import smtplib
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from celery.exceptions import Retry
from celery.signals import task_retry
from django.core import mail
from django.db import transaction

from config.mail import is_transient, send_email_on_commit, send_email_task

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_down(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port()
    settings.EMAIL_USE_TLS = False


@pytest.fixture
def retries():
    """The reasons of every retry Celery records for a task (its own task_retry signal)."""
    seen: list[BaseException] = []

    def record(sender=None, reason=None, **kwargs):
        seen.append(reason)

    task_retry.connect(record, weak=False)
    yield seen
    task_retry.disconnect(record)


def test_the_worker_registers_the_email_task():
    # A fresh process, as a worker starts: the app's default modules name the task.
    code = (
        "import django; django.setup();"
        "from config.celery import app; app.loader.import_default_modules();"
        "print('ambassador.send_email' in app.tasks)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}

    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )

    assert out.stdout.strip().splitlines()[-1] == "True"


@pytest.mark.django_db(transaction=True)
def test_email_is_sent_after_the_commit_and_not_before():
    with transaction.atomic():
        send_email_on_commit(to=["a@example.org"], subject="Hello", body="Body")

        assert mail.outbox == []  # still inside the transaction

    (sent,) = mail.outbox
    assert (sent.to, sent.subject, sent.body) == (["a@example.org"], "Hello", "Body")


@pytest.mark.django_db(transaction=True)
def test_an_html_alternative_and_headers_travel_with_the_message():
    send_email_on_commit(
        to=["a@example.org"],
        subject="Hello",
        body="Body",
        html="<p>Body</p>",
        headers={"List-Unsubscribe": "<https://x.test/u/1/>\r\nBcc: b@example.org"},
    )

    (sent,) = mail.outbox
    assert sent.body == "Body" and sent.alternatives == [("<p>Body</p>", "text/html")]
    # A header value is one line: a newline in it cannot add a header.
    assert sent.extra_headers == {"List-Unsubscribe": "<https://x.test/u/1/> Bcc: b@example.org"}
    assert "\nBcc:" not in sent.message().as_string()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_sends_no_email():
    with pytest.raises(RuntimeError), transaction.atomic():
        send_email_on_commit(to=["a@example.org"], subject="Hello", body="Body")
        raise RuntimeError("the change failed")

    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "address",
    ["victim@example.org\r\nBcc: everyone@example.org", "a@example.org\n", "not-an-address"],
)
def test_an_invalid_address_is_never_mailed(address):
    send_email_on_commit(to=[address, "ok@example.org"], subject="Hi", body="Body")

    assert [m.to for m in mail.outbox] == [["ok@example.org"]]


@pytest.mark.django_db(transaction=True)
def test_a_newline_in_a_subject_does_not_fail_the_send():
    send_email_on_commit(to=["a@example.org"], subject="Two\r\nlines", body="Body")

    assert mail.outbox[0].subject == "Two lines"


@pytest.mark.django_db(transaction=True)
def test_smtp_down_makes_the_task_retry_not_fail_the_caller(smtp_down, retries):
    # when the change commits while nothing listens on the SMTP port
    with transaction.atomic():
        send_email_on_commit(to=["a@example.org"], subject="Hello", body="Body")

    # then the caller got no error, and the task asked Celery to retry because of it
    assert retries, "no retry was scheduled"
    assert all(isinstance(r, Retry) for r in retries)
    assert all(isinstance(r.exc, ConnectionRefusedError) for r in retries)


def test_a_worker_run_against_a_closed_port_raises_retry(smtp_down):
    # As a worker runs it (not eagerly): the task raises Celery's Retry, which the worker
    # turns into a redelivery after the backoff countdown.
    send_email_task.push_request(retries=0, is_eager=False, called_directly=False)
    try:
        with pytest.raises(Retry) as raised:
            send_email_task.run(to=["a@example.org"], subject="Hello", body="Body")
    finally:
        send_email_task.pop_request()

    assert isinstance(raised.value.exc, ConnectionRefusedError)
    assert 0 <= raised.value.when <= 30  # first backoff: up to 30 s (full jitter)


def test_only_transient_errors_are_retried():
    assert is_transient(ConnectionRefusedError())
    assert is_transient(TimeoutError())
    assert is_transient(smtplib.SMTPServerDisconnected("gone"))
    assert is_transient(smtplib.SMTPResponseException(421, b"try later"))
    assert not is_transient(smtplib.SMTPResponseException(554, b"rejected"))
    assert not is_transient(smtplib.SMTPRecipientsRefused({"a@x.test": (550, b"no such user")}))
    assert is_transient(smtplib.SMTPRecipientsRefused({"a@x.test": (450, b"mailbox busy")}))
    assert not is_transient(ValueError("a bug"))
