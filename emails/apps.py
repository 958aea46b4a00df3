from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "emails"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every e-mail registers itself on import (emails.catalog), so the previews, the
        # unsubscribe view and every sender find them all by name.
        from emails import catalog  # noqa: F401
