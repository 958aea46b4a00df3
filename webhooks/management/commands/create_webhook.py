"""manage.py create_webhook URL [--events …]: register a receiver; the signing secret is
printed on the last line, once (it is never shown again)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from config.errors import ServiceError
from webhooks.models import EVENT_TYPES
from webhooks.services import create_endpoint


class Command(BaseCommand):
    help = "Register a webhook endpoint and print its signing secret (shown once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("url", help="The receiver's http(s) URL.")
        parser.add_argument(
            "--events",
            nargs="+",
            default=[],
            metavar="EVENT",
            help=f"Event types to send (default: all): {', '.join(EVENT_TYPES)}. "
            "Space- or comma-separated.",
        )
        parser.add_argument("--description", default="")

    def handle(self, *args, **options) -> None:
        events = [e for part in options["events"] for e in part.split(",") if e.strip()]
        try:
            endpoint, secret = create_endpoint(
                url=options["url"],
                events=events,
                now=timezone.now(),
                description=options["description"],
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Endpoint {endpoint.pk}: {endpoint.url}")
        self.stdout.write(f"Events: {', '.join(endpoint.events) or 'all'}")
        self.stdout.write("Signing secret (shown only now; store it in the receiver):")
        self.stdout.write(secret)
