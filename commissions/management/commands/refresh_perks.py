from django.core.management.base import BaseCommand

from commissions.services import perks
from config.commands import add_now_argument, parse_now


class Command(BaseCommand):
    help = (
        "Give and take back the automatic perks, as the beat jobs do: early access (active "
        "in the last 30 days) and, with --two-weekly, two-weekly payouts by last month's sales."
    )

    def add_arguments(self, parser):
        add_now_argument(parser, help="The instant the perks are judged at.")
        parser.add_argument(
            "--two-weekly",
            action="store_true",
            help="Also the monthly job: two-weekly payouts by last month's sales.",
        )

    def handle(self, *args, **options):
        now = parse_now(options["now"])
        results = {"early access": perks.refresh_early_access(now=now)}
        if options["two_weekly"]:
            results["two-weekly payouts"] = perks.grant_two_weekly_payouts(now=now)
        for name, result in results.items():
            counts = result.counts()
            self.stdout.write(
                f"{name}: granted {counts['granted']}, withdrawn {counts['withdrawn']}, "
                f"failed {counts['failed']}"
            )
