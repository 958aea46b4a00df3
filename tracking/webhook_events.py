"""Tracking's outbound webhook event, `referral.created` (payload in README "Outbound
webhooks"), written to the outbox by webhooks.services in the caller's transaction."""

from __future__ import annotations

from tracking.models import Referral
from webhooks import services as webhooks


def emit_referral_created(referral: Referral) -> None:
    """A new customer credited to an affiliate or an employee, once per referral. An
    unattributed signup is no referral and sends nothing."""
    if referral.affiliate_id is None and referral.employee_id is None:
        return
    data = {
        "referral": {
            "id": referral.pk,
            "customer_id": referral.customer_id,
            "affiliate_id": referral.affiliate_id,
            "employee_id": referral.employee_id,
            "source": referral.source,
            "plan": referral.plan,
            "created_at": referral.created_at.isoformat(),
        }
    }
    webhooks.emit(
        type="referral.created",
        data=data,
        now=referral.created_at,
        key=f"referral.created:{referral.pk}",
    )
