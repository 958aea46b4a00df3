"""Demo data for a living program ending now: idempotent (running it twice leaves the same
program) and deterministic for a given clock (`--now 2026-11-02T12:00:00Z` pins it, as the
tests do; without it the demo ends at the real now, so `make run` never shows a stale
month, and a later re-run tops the program up to the new today).

Each app contributes a `demo.py` with `seed(*, now, rng)`; they run in dependency order,
so later issues grow the demo by adding to their own app's demo module.
"""

import random
import sys
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

import affiliates.demo
import commissions.demo
import payouts.demo
import tracking.demo

# In dependency order: each app's demo builds on the rows of the ones before it.
STEPS = [affiliates.demo, tracking.demo, commissions.demo, payouts.demo]
# The clock tests pin with `--now` (DEMO_NOW.isoformat()): the same data every run.
DEMO_NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
RNG_SEED = 20261102


def parse_now(value: str) -> datetime:
    """An ISO 8601 instant; one without an offset is UTC."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--now: not an ISO 8601 date-time: {value!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class Progress:
    """A plain-text progress bar on stderr (no dependency needed)."""

    def __init__(self, stream, total: int) -> None:
        self.stream, self.total, self.done = stream, max(total, 1), 0

    def step(self, label: str) -> None:
        self.done += 1
        width = 30
        filled = int(width * self.done / self.total)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {label:<40}"
        )
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")


class Command(BaseCommand):
    help = "Seed a deterministic demo program (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-progress", action="store_true")
        parser.add_argument(
            "--now",
            type=parse_now,
            default=None,
            help="End the demo at this instant (ISO 8601, e.g. 2026-11-02T12:00:00Z) "
            "instead of now.",
        )

    def handle(self, *args, **options):
        modules = [(module.__name__.split(".")[0], module) for module in STEPS]
        progress = Progress(
            sys.stderr if not options["quiet_progress"] else open("/dev/null", "w"), len(modules)
        )
        now = options["now"] or timezone.now()
        rng = random.Random(RNG_SEED)
        summary: list[str] = []
        for app, module in modules:
            with transaction.atomic():
                lines = module.seed(now=now, rng=rng) or []
            summary.extend(lines)
            progress.step(app)
        progress.finish()
        for line in summary:
            self.stdout.write(line)
