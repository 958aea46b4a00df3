"""Outbound webhooks (Standard Webhooks) for CRMs and e-mail tools.

The bottom layer: every domain app may emit an event through webhooks.services.emit, and
this app imports none of them (payloads arrive as plain dicts built by the emitting app)."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"
