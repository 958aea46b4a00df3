"""What management commands share: the `--now` option (STYLE: time is an input — a command
may be run "as of" another instant, to replay a missed run or to test)."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import datetime

from django.core.management.base import CommandError
from django.utils import timezone


def add_now_argument(parser: ArgumentParser, *, help: str) -> None:
    parser.add_argument("--now", help=f"{help} ISO 8601 with a time zone (default: now).")


def parse_now(value: str | None) -> datetime:
    """`--now`'s value as an aware datetime; the current time when not given. A naive or
    malformed value is a CommandError (exit 1, the reason printed), never a guess."""
    if not value:
        return timezone.now()
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise CommandError(f"--now: {exc}") from exc
    if timezone.is_naive(moment):
        raise CommandError(
            "--now needs a time zone, e.g. 2026-12-01T13:07:00Z or 2026-12-01T13:07:00+00:00"
        )
    return moment
