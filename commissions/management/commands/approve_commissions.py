from django.core.management.base import BaseCommand

from commissions.services import approve_due_commissions
from config.commands import add_now_argument, parse_now


class Command(BaseCommand):
    help = "Approve pending commissions whose hold has ended (decline refunded ones)."

    def add_arguments(self, parser):
        add_now_argument(parser, help="The instant to use as the cutoff.")

    def handle(self, *args, **options):
        now = parse_now(options["now"])
        result = approve_due_commissions(now=now)
        self.stdout.write(
            f"approved {result.approved}, declined {result.declined} (cutoff {now.isoformat()})"
        )
