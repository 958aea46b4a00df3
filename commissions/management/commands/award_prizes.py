import re
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from commissions.prize_selectors import previous_month
from commissions.services.prizes import award_prizes
from config.commands import add_now_argument, parse_now
from config.errors import ServiceError
from config.money import format_money


class Command(BaseCommand):
    help = (
        "Award the monthly prizes of a month that has ended: the top affiliates (one place per "
        "row of the prize budget, default 3: 100/50/25) and the employee of the month, by "
        "revenue in the month from customers whose first payment fell in it (program "
        "currency, net of tax and refunds). Ties: more revenue, then the earlier first "
        "payment of a counted customer, then the lower affiliate id. Prizes are approved "
        "ledger entries at once. Once per month: a month already awarded writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", help="YYYY-MM (default: last month, UTC).")
        add_now_argument(parser, help="The instant to award at.")

    def handle(self, *args, **options):
        now = parse_now(options["now"])
        raw = options["month"]
        if raw:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}", raw.strip()):
                raise CommandError("--month must be YYYY-MM, e.g. 2026-11.")
            try:
                month = date.fromisoformat(f"{raw.strip()}-01")
            except ValueError as exc:
                raise CommandError(f"--month: {exc}") from exc
        else:
            month = previous_month(now)
        try:
            results = award_prizes(month=month, now=now)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        for r in results:
            if r.outcome == "already":
                self.stdout.write(f"{month:%Y-%m} {r.contest}: already awarded; nothing written")
            elif r.outcome == "waiting":
                self.stdout.write(
                    f"{month:%Y-%m} {r.contest}: {r.waiting} payment(s) wait for an exchange "
                    "rate; not awarded yet (run again once the rate is entered)"
                )
            else:
                self.stdout.write(
                    f"{month:%Y-%m} {r.contest}: {len(r.awards)} prize(s), "
                    f"{r.qualifiers} qualifier(s)"
                )
                for a in r.awards:
                    self.stdout.write(
                        f"  #{a.rank} affiliate {a.affiliate_id}: "
                        f"{format_money(a.amount, a.currency)} "
                        f"(revenue {format_money(a.revenue, a.currency)})"
                    )
