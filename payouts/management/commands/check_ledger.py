"""check_ledger: every broken invariant of the money, commissions' and payouts' checks
together. It lives here, in the app that sees both: commissions never imports payouts."""

import sys

from django.core.management.base import BaseCommand
from django.utils import timezone

from commissions import selectors as commission_checks
from payouts import selectors as payout_checks


class Command(BaseCommand):
    help = "Check the ledger's invariants; exit 1 naming each violation."

    def handle(self, *args, **options):
        problems = commission_checks.ledger_violations(now=timezone.now())
        problems += payout_checks.ledger_violations()
        for problem in problems:
            self.stderr.write(f"VIOLATION: {problem}")
        if problems:
            sys.exit(1)
        self.stdout.write("ledger OK")
