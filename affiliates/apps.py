from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class AffiliatesConfig(AppConfig):
    name = "affiliates"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from affiliates.middleware import remember_language_at_login
        from affiliates.roles import sync_roles_after_migrate

        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="affiliates.sync_roles")
        # Not domain flow: puts the affiliate's saved language in the new session, so no page
        # pays a query for it (affiliates.middleware).
        user_logged_in.connect(remember_language_at_login, dispatch_uid="affiliates.language")
