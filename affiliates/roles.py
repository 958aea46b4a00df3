"""Staff roles (Freemius): a `Program manager` runs the program; `Support` only reads.

The groups' permissions are recomputed from the app registry after every migrate, so a model
another app adds later is covered without anyone editing a list.
"""

from __future__ import annotations

from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

PROGRAM_MANAGER = "Program manager"
SUPPORT = "Support"

# Program managers: every permission of these apps (payouts actions and API keys included).
MANAGER_APPS = ("affiliates", "tracking", "commissions", "payouts", "webhooks")
# Support: read-only on these apps' models, minus secrets: API keys, and payout destinations —
# payout accounts (bank details, tax ids), and PayPal's stored batches and webhook events,
# whose raw JSON names every receiver's PayPal e-mail. Support sees payouts (their admin hides
# the destination snapshot without `export_payout_destinations`) and runs, no action.
SUPPORT_APPS = ("affiliates", "tracking", "commissions", "payouts")
SUPPORT_EXCLUDED_MODELS = {
    ("affiliates", "apikey"),
    ("payouts", "payoutaccount"),
    ("payouts", "paypalbatch"),
    ("payouts", "paypalevent"),
}


def _content_types(app_labels: tuple[str, ...], apps=global_apps) -> list[ContentType]:
    found = []
    for label in app_labels:
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        for model in config.get_models():
            found.append(ContentType.objects.get_for_model(model, for_concrete_model=False))
    return found


def manager_permissions() -> list[Permission]:
    cts = _content_types(MANAGER_APPS)
    return list(Permission.objects.filter(content_type__in=cts))


def support_permissions() -> list[Permission]:
    cts = [
        ct
        for ct in _content_types(SUPPORT_APPS)
        if (ct.app_label, ct.model) not in SUPPORT_EXCLUDED_MODELS
    ]
    return list(Permission.objects.filter(content_type__in=cts, codename__startswith="view_"))


def sync_roles() -> None:
    """Create both groups and set their permissions exactly (idempotent)."""
    manager, _ = Group.objects.get_or_create(name=PROGRAM_MANAGER)
    manager.permissions.set(manager_permissions())
    support, _ = Group.objects.get_or_create(name=SUPPORT)
    support.permissions.set(support_permissions())


def sync_roles_after_migrate(sender, using="default", **kwargs) -> None:
    # post_migrate fires once per app; Django's own handler creates each app's permissions
    # in its turn, so re-syncing every time leaves the groups complete after the last app.
    if using != "default":
        return
    sync_roles()
