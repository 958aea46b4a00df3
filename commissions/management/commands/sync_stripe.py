from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

import commissions.gateways.stripe as stripe_gateway
from commissions.ingest import sync_stripe


class Command(BaseCommand):
    help = "Pull Stripe events after the stored cursor into the event store (no processing)."

    def handle(self, *args, **options):
        if not stripe_gateway.is_enabled():
            raise CommandError("STRIPE_SECRET_KEY is not set.")
        counts = sync_stripe(now=timezone.now())
        self.stdout.write(f"stored {counts['events']} new events, {counts['refunds']} new refunds")
