from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from commissions.ingest import process_pending_events, reprocess_events


class Command(BaseCommand):
    help = (
        "Stage two: turn stored events into payments and commission entries. With "
        "--reprocess, run it again over stored events (never asking Stripe): existing rows "
        "stay as they are and only missing ones are inserted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--reprocess", action="store_true")
        parser.add_argument("--since", help="ISO 8601: only events created at or after it.")

    def handle(self, *args, **options):
        since = None
        if options["since"]:
            try:
                since = datetime.fromisoformat(options["since"])
            except ValueError as exc:
                raise CommandError(f"--since: {exc}") from exc
            if timezone.is_naive(since):
                raise CommandError("--since needs a UTC offset.")
        if since and not options["reprocess"]:
            raise CommandError("--since goes with --reprocess.")
        now = timezone.now()
        failures: list[dict] = []
        if options["reprocess"]:
            counts = reprocess_events(since=since, now=now, failures=failures)
        else:
            counts = process_pending_events(now=now, failures=failures)
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing to do"
        self.stdout.write(summary)
        # Failed events are reported, not fatal: they are recorded on the event, retried
        # with backoff and parked in the end (admin: Stored events, "Needs attention"), and
        # a non-zero exit would make cron or CI retry the whole run for one bad event.
        for f in failures:
            when = (
                "parked"
                if f["outcome"] == "parked"
                else f"retry after {f['next_attempt_at']:%Y-%m-%d %H:%M} UTC"
            )
            self.stdout.write(
                f"failed: {f['event_id']} ({f['type']}), attempt {f['attempts']}, {when}: "
                f"{f['error'][:300]}"
            )
