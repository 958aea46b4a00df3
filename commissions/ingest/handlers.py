"""Which stage-two handlers run for which event type: the STRIPE_EVENT_HANDLERS table in
settings (why a settings table: see the comment there), resolved to callables once with
import_string and kept. Nothing registers handlers at import time, so what runs for a type
is read in one place, and commissions never imports the apps whose handlers it runs."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from commissions.models import StoredEvent

Handler = Callable[[StoredEvent], None]


@cache
def _table() -> dict[str, tuple[Handler, ...]]:
    return {
        event_type: tuple(import_string(path) for path in paths)
        for event_type, paths in settings.STRIPE_EVENT_HANDLERS.items()
    }


def handlers_for(event_type: str) -> list[Handler]:
    """The handlers for `event_type`, in the table's order ([] when it is not handled)."""
    return list(_table().get(event_type, ()))


def handled_types() -> list[str]:
    """Every event type stage two has a handler for, sorted."""
    return sorted(_table())


@receiver(setting_changed)
def _forget_table(*, setting: str, **kwargs: Any) -> None:
    # Tests override the setting (override_settings, pytest-django's `settings`).
    if setting == "STRIPE_EVENT_HANDLERS":
        _table.cache_clear()
