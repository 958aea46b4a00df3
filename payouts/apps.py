from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "payouts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connect events arrive through the commissions app's /webhooks/stripe/ store.
        try:
            from commissions.ingest import register_handler
        except ImportError as exc:  # pragma: no cover — wiring error, say so loudly
            raise ImportError(
                "payouts needs commissions.ingest.register_handler for Stripe Connect events"
            ) from exc
        from payouts.services import handle_stripe_event

        register_handler("account.updated", handle_stripe_event)
        register_handler("transfer.reversed", handle_stripe_event)
