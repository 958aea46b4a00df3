"""What happened, appended: each payout's PayoutEvent rows (state changes, provider calls
and answers) and the staff audit log entries of payout actions.

Every service that changes a payout or calls a provider says who or what caused it with a
Cause (a staff member, or the task, command or webhook by name) and writes its rows here,
inside the transaction of the change they record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from affiliates.models import Affiliate, AuditLog, User
from payouts.models import PayoutEvent

Kind = PayoutEvent.Kind


@dataclass(frozen=True)
class Cause:
    """Who or what made a change: `source` names the task, command, admin action or
    webhook; `actor` is the staff member, when a person did it."""

    source: str
    actor: User | None = None

    @classmethod
    def of(cls, source: str, actor: Any = None) -> Cause:
        # Admin actions pass request.user; anything but a saved user (None, anonymous) is
        # recorded as no actor.
        return cls(source=source, actor=actor if isinstance(actor, User) else None)


def event(
    *,
    payout_id: int,
    kind: str,
    cause: Cause,
    now: datetime,
    from_state: str = "",
    to_state: str = "",
    idempotency_key: str = "",
    sent: Any = None,
    received: Any = None,
    provider_status: str = "",
    provider_reference: str = "",
    error: str = "",
) -> PayoutEvent:
    """One history row, not yet saved (append() saves many in one statement)."""
    return PayoutEvent(
        payout_id=payout_id,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        idempotency_key=idempotency_key[:64],
        sent=jsonable(sent) if sent is not None else {},
        received=jsonable(received) if received is not None else {},
        provider_status=provider_status[:32],
        provider_reference=provider_reference[:200],
        error=error,
        actor=cause.actor,
        source=cause.source[:64],
        created_at=now,
    )


def append(events: Iterable[PayoutEvent]) -> None:
    PayoutEvent.objects.bulk_create(list(events), batch_size=2000)


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
    """A provider's answer or error body as something a JSONField stores (else its text)."""
    if isinstance(value, dict | list | str | int | float | type(None)):
        return value
    return str(value)
