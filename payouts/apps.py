"""The payouts app. Stripe Connect's `account.updated` and `transfer.reversed` reach
payouts.services.handle_stripe_event through settings.STRIPE_EVENT_HANDLERS (the one table
of stage-two handlers, read by the commissions app's event store): nothing is registered
here at import time."""

from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    # Connect events arrive through the commissions app's Stripe store; their stage-two
    # handler (payouts.services.handle_stripe_event) is listed in
    # settings.STRIPE_EVENT_HANDLERS, so nothing is registered here.
    name = "payouts"
    default_auto_field = "django.db.models.BigAutoField"
