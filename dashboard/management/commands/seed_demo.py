"""Deterministic demo data, idempotent: running it twice leaves the same program.

Each app contributes a `demo.py` with `seed(*, now, rng, progress)`; they run in dependency
order, so later issues grow the demo by adding to their own app's demo module.
"""

import random
import sys
from datetime import UTC, datetime

from django.core.management.base import BaseCommand
from django.db import transaction

import affiliates.demo
import commissions.demo
import payouts.demo
import tracking.demo

# In dependency order: each app's demo builds on the rows of the ones before it.
STEPS = [affiliates.demo, tracking.demo, commissions.demo, payouts.demo]
# Fixed demo clock: the same data every run, whatever today is.
DEMO_NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


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

    def handle(self, *args, **options):
        modules = [(module.__name__.split(".")[0], module) for module in STEPS]
        progress = Progress(
            sys.stderr if not options["quiet_progress"] else open("/dev/null", "w"), len(modules)
        )
        rng = random.Random(20261102)
        summary: list[str] = []
        for app, module in modules:
            with transaction.atomic():
                lines = module.seed(now=DEMO_NOW, rng=rng) or []
            summary.extend(lines)
            progress.step(app)
        progress.finish()
        for line in summary:
            self.stdout.write(line)
