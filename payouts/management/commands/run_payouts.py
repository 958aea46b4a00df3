from django.core.management.base import BaseCommand, CommandError

from config.commands import add_now_argument, parse_now
from payouts.services import run_payouts


class Command(BaseCommand):
    help = "Run the payout job: every approved balance at or over its threshold becomes a payout."

    def add_arguments(self, parser):
        add_now_argument(parser, help="The instant to run as.")
        parser.add_argument("--dry-run", action="store_true", help="Show what would be paid.")
        parser.add_argument("--two-weekly-only", action="store_true")

    def handle(self, *args, **options):
        now = parse_now(options["now"])
        result = run_payouts(
            now=now,
            two_weekly_only=options["two_weekly_only"],
            dry_run=options["dry_run"],
            source="manage.py run_payouts",  # what the payouts' history names as the cause
        )
        for line in result.lines:
            self.stdout.write(line)
        if result.locked_out:
            raise CommandError("Another payout run is in progress.")
