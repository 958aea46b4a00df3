"""Every e-mail the project sends goes through `send_email_on_commit`.

Why a task and not `send_mail` in the request: an e-mail is a side effect of a change that
is already saved. Sent inline (even from `on_commit`), an SMTP outage turned a saved change
of bank details into a 500 and the takeover warning was never sent. Here the message is
handed to Celery once the transaction commits (never for a rolled-back change), and the
worker retries transient SMTP / network errors with backoff until the server is back.
"""

from __future__ import annotations

import logging
import smtplib

from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import transaction

from config.celery import app

log = logging.getLogger(__name__)

# Backoff for transient failures: 30 s, 60 s, 120 s … capped at 10 min (well under the Redis
# visibility timeout, so a waiting retry is never redelivered in a loop), full jitter; 24
# retries keep trying for about two hours of an SMTP outage before the message is dropped
# (and logged) rather than retried forever.
RETRY_BACKOFF = 30
RETRY_BACKOFF_MAX = 600
MAX_RETRIES = 24
# A hung SMTP server must not hold a worker forever (Django's default is no timeout).
DEFAULT_TIMEOUT_SECONDS = 30


def _valid_addresses(to: list[str]) -> list[str]:
    """Addresses that pass Django's EmailValidator (a CR/LF, a second address or any other
    header trick does not). Every input path validates already; a bad address that got into
    the database earlier is skipped with a log line, never a failure of the saved change."""
    good = []
    for address in to:
        try:
            validate_email(address)
        except ValidationError:
            log.error("Not e-mailing an invalid address %r", address)
            continue
        good.append(address)
    return good


def send_email_on_commit(
    *,
    to: list[str],
    subject: str,
    body: str,
    html: str = "",
    headers: dict[str, str] | None = None,
) -> None:
    """Queue one e-mail to `to` (one message, all recipients visible to each other: call once
    per recipient for private mail) after the current transaction commits: plain text, with
    `html` as its text/html alternative when given (config.emails renders both), and extra
    `headers` (List-Unsubscribe)."""
    recipients = _valid_addresses([a for a in to if a])
    if not recipients:
        return
    # A subject is one header line; Django refuses newlines in it (BadHeaderError).
    subject = " ".join(subject.split())
    kwargs: dict = {"to": recipients, "subject": subject, "body": body}
    # Only when present, so a plain message's task arguments stay what they always were.
    if html:
        kwargs["html"] = html
    if headers:
        kwargs["headers"] = {k: " ".join(v.split()) for k, v in headers.items()}
    transaction.on_commit(lambda: _enqueue(kwargs))


def _enqueue(kwargs: dict) -> None:
    try:
        send_email_task.apply_async(kwargs=kwargs)
    except Exception:  # broker down: the change is saved; losing the e-mail is logged loudly
        log.error("Could not queue e-mail %r to %s", kwargs["subject"], kwargs["to"], exc_info=True)


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: the network or the server, not the message. A 5xx reply (address
    refused, message rejected) is permanent and would fail the same way on every retry;
    everything else smtplib raises is an OSError (refused, reset, timeout, 4xx, dropped)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(not 500 <= code < 600 for code, _ in (exc.recipients or {}).values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return not 500 <= exc.smtp_code < 600
    return isinstance(exc, OSError)


@app.task(name="ambassador.send_email", bind=True, max_retries=MAX_RETRIES)
def send_email_task(
    self,
    *,
    to: list[str],
    subject: str,
    body: str,
    html: str = "",
    headers: dict[str, str] | None = None,
) -> int:
    """Send one queued e-mail. A task runs at least once (acks late): a message may, rarely,
    arrive twice; that is preferred over losing a takeover warning."""
    timeout = settings.EMAIL_TIMEOUT or DEFAULT_TIMEOUT_SECONDS
    try:
        message = EmailMultiAlternatives(
            subject,
            body,
            None,
            to,
            headers=headers or None,
            connection=get_connection(timeout=timeout),
        )
        if html:
            message.attach_alternative(html, "text/html")
        return message.send(fail_silently=False)
    except Exception as exc:
        if not is_transient(exc):
            log.error("E-mail %r to %s refused for good: %s", subject, to, exc)
            return 0
        countdown = get_exponential_backoff_interval(
            factor=RETRY_BACKOFF,
            retries=self.request.retries,
            maximum=RETRY_BACKOFF_MAX,
            full_jitter=True,
        )
        raise self.retry(exc=exc, countdown=countdown) from exc
