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


def jsonable(value: Any) -> Any:
    """A provider's error body as something a JSONField stores (else its text)."""
    if isinstance(value, dict | list | str | int | float | type(None)):
        return value
    return str(value)
