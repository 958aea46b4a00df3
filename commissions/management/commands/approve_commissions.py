from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from commissions.services import approve_due_commissions


class Command(BaseCommand):
    help = "Approve pending commissions whose hold has ended (decline refunded ones)."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="ISO 8601 instant to use as the cutoff (default: now).")

    def handle(self, *args, **options):
        now = timezone.now()
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"])
            except ValueError as exc:
                raise CommandError(f"--now: {exc}") from exc
            if timezone.is_naive(now):
                raise CommandError("--now needs a UTC offset, e.g. 2026-12-03T18:07:00+00:00")
        result = approve_due_commissions(now=now)
        self.stdout.write(
            f"approved {result.approved}, declined {result.declined} (cutoff {now.isoformat()})"
        )
