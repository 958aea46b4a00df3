from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from payouts.services import run_payouts


class Command(BaseCommand):
    help = "Run the payout job: every approved balance at or over its threshold becomes a payout."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="ISO 8601 instant to run as (default: now).")
        parser.add_argument("--dry-run", action="store_true", help="Show what would be paid.")
        parser.add_argument("--two-weekly-only", action="store_true")

    def handle(self, *args, **options):
        now = timezone.now()
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"].replace("Z", "+00:00"))
            except ValueError as exc:
                raise CommandError(f"--now: {exc}") from exc
            if timezone.is_naive(now):
                raise CommandError("--now needs a time zone, e.g. 2026-12-01T13:07:00Z")
        result = run_payouts(
            now=now, two_weekly_only=options["two_weekly_only"], dry_run=options["dry_run"]
        )
        for line in result.lines:
            self.stdout.write(line)
        if result.locked_out:
            raise CommandError("Another payout run is in progress.")
