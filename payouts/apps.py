from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    # Connect events arrive through the commissions app's Stripe store; their stage-two
    # handler (payouts.services.handle_stripe_event) is listed in
    # settings.STRIPE_EVENT_HANDLERS, so nothing is registered here.
    name = "payouts"
    default_auto_field = "django.db.models.BigAutoField"
