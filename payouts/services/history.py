"""What happened to payouts, appended: the staff audit log entries of payout actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from affiliates.models import Affiliate, AuditLog, User


def audit(
    *, action: str, affiliate: Affiliate | None, actor: Any, now: datetime, **details: Any
) -> None:
    AuditLog.objects.create(
        at=now,
        actor=actor if isinstance(actor, User) else None,
        action=action,
        affiliate=affiliate,
        details=details,
    )
