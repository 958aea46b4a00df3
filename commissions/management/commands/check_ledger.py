import sys

from django.core.management.base import BaseCommand
from django.utils import timezone

from commissions.selectors import ledger_violations


class Command(BaseCommand):
    help = "Check the ledger's invariants; exit 1 naming each violation."

    def handle(self, *args, **options):
        problems = ledger_violations(now=timezone.now())
        for problem in problems:
            self.stderr.write(f"VIOLATION: {problem}")
        if problems:
            sys.exit(1)
        self.stdout.write("ledger OK")
