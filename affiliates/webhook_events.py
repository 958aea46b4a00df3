"""The affiliates' outbound webhook events (payloads in README "Outbound webhooks"): built
here, from this app's rows, and written to the outbox by webhooks.services in the caller's
transaction."""

from __future__ import annotations

from datetime import datetime

from affiliates.models import Affiliate
from webhooks import services as webhooks


def emit_affiliate(*, affiliate_id: int, type: str, now: datetime) -> None:
    """`affiliate.applied` or `affiliate.approved`, once per affiliate (its natural key)."""
    if not webhooks.subscribed(type):
        return
    a = Affiliate.objects.select_related("user").get(pk=affiliate_id)
    data = {
        "affiliate": {
            "id": a.pk,
            "username": a.username,
            "email": a.user.email,
            "status": a.status,
            "applied_at": a.applied_at.isoformat() if a.applied_at else None,
            "approved_at": a.approved_at.isoformat() if a.approved_at else None,
            "website": a.website,
        }
    }
    webhooks.emit(type=type, data=data, now=now, key=f"{type}:{a.pk}")
