"""Automatic perks (services): early access and two-weekly payouts, given and taken back by
their jobs (commissions.services.perks decides who qualifies, from the rollups and the
payments; this module writes the affiliates' rows, as only affiliates may).

A perk set by hand in admin raises its "by hand" flag (Affiliate.early_access_by_hand,
payout_frequency_by_hand), and these writers never touch a flagged affiliate: a manual grant
is never taken back, a manual refusal never overridden. Every change is a compare-and-set
on the affiliate's row (the value the job read, not by hand), in its own transaction with an
audit row, so a run repeated, or racing an admin's edit, changes nothing twice, and one
affiliate's failure is logged and skipped while the others go on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from affiliates.models import Affiliate, AuditLog

logger = logging.getLogger(__name__)

Frequency = Affiliate.Frequency

# perk → (value column, "by hand" column, value when held, value when not held)
PERKS: dict[str, tuple[str, str, object, object]] = {
    "early_access": ("early_access", "early_access_by_hand", True, False),
    "two_weekly_payouts": (
        "payout_frequency",
        "payout_frequency_by_hand",
        Frequency.TWO_WEEKLY,
        Frequency.MONTHLY,
    ),
}
_CHUNK = 500  # ids per IN (...) list


@dataclass
class PerkResult:
    granted: list[int] = field(default_factory=list)
    withdrawn: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "granted": len(self.granted),
            "withdrawn": len(self.withdrawn),
            "failed": len(self.failed),
        }


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def sync_perk(
    *, perk: str, holders: set[int], reasons: dict[int, str], now: datetime
) -> PerkResult:
    """Make the automatic perk held by exactly the approved affiliates in `holders` among
    those not set by hand: grant it to those without it, take it back from the others that
    hold it automatically. `reasons` says why each holder qualifies (for the audit log)."""
    column, by_hand, on, off = PERKS[perk]
    result = PerkResult()
    to_grant: list[int] = []
    for chunk in _chunks(sorted(holders)):
        to_grant += (
            Affiliate.objects.filter(pk__in=chunk, status=Affiliate.Status.APPROVED)
            .filter(**{by_hand: False})
            .exclude(**{column: on})
            .values_list("pk", flat=True)
        )
    # Holders by the job today: the approved holders keep it, everyone else loses it.
    keep = set(holders)
    to_withdraw = [
        pk
        for pk, status in Affiliate.objects.filter(**{by_hand: False, column: on}).values_list(
            "pk", "status"
        )
        if pk not in keep or status != Affiliate.Status.APPROVED
    ]
    for pk in sorted(to_grant):
        if _move(
            pk=pk, perk=perk, old=off, new=on, reason=reasons.get(pk, ""), now=now, result=result
        ):
            result.granted.append(pk)
    for pk in sorted(to_withdraw):
        if _move(
            pk=pk, perk=perk, old=on, new=off, reason="no longer qualifies", now=now, result=result
        ):
            result.withdrawn.append(pk)
    return result


def _move(
    *, pk: int, perk: str, old: object, new: object, reason: str, now: datetime, result: PerkResult
) -> bool:
    column, by_hand, on, _off = PERKS[perk]
    try:
        with transaction.atomic():
            # Compare-and-set: still the value the job read, still not set by hand (an
            # admin's edit since wins), and a grant still to an approved affiliate.
            rows = Affiliate.objects.filter(pk=pk, **{by_hand: False})
            if new == on:
                rows = rows.filter(status=Affiliate.Status.APPROVED).exclude(**{column: on})
            else:
                rows = rows.filter(**{column: old})
            if rows.update(**{column: new}) != 1:
                return False
            AuditLog.objects.create(
                at=now,
                actor=None,
                action=f"perk.{'granted' if new == on else 'withdrawn'}",
                affiliate_id=pk,
                details={"perk": perk, "value": str(new), "reason": reason[:200]},
            )
    except Exception:
        # One bad affiliate never stops the job for the others; it is retried next run.
        logger.exception("perk %s: affiliate %s could not be updated", perk, pk)
        result.failed.append(pk)
        return False
    return True


def mark_set_by_hand(*, affiliate: Affiliate, changed: Iterable[str]) -> None:
    """An admin changed `changed` fields of the affiliate's form: a perk value changed by
    hand raises its flag (unless the admin set the flag itself in the same edit), so the
    jobs leave it alone from now on. Called before the admin saves the row."""
    changed = set(changed)
    for column, by_hand, _on, _off in PERKS.values():
        if column in changed and by_hand not in changed:
            setattr(affiliate, by_hand, True)
