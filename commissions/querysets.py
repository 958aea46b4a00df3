"""The ledger's one QuerySet (Read the Docs' `querysets.py`): every way to reach commission
entries — `CommissionEntry.objects`, the base manager, related managers such as
`payment.entries` and `affiliate.commission_entries`, and so every selector — returns it.

It carries the chainable filters the reads share (`.for_affiliate(a)`, `.in_balance()`)
and the bulk half of the append-only rule: `.update()` refuses the money and source columns
(state columns may change; commissions.services.ledger.move_entries moves them by
compare-and-set) and `.delete()` refuses outright. The row half is `CommissionEntry.save()`
/ `.delete()`, and PostgreSQL has a trigger besides.

Kept apart from models.py so that models.py is the table; it reads the model's tables
(`IMMUTABLE_FIELDS`, `State`, `BALANCE_STATES`) through `self.model`, so it imports nothing
of this app.
"""

from __future__ import annotations

from typing import Any, Self

from django.db import models


class LedgerImmutableError(Exception):
    """Raised when code tries to change a ledger entry's money columns or delete an entry."""


def immutable_update_names(model: Any) -> set[str]:
    """The names `.update()` may not be given: the immutable columns, and for a foreign key
    its relation name too (`payment` as well as `payment_id`)."""
    fields: tuple[str, ...] = model.IMMUTABLE_FIELDS
    names = set(fields) | {f.removesuffix("_id") for f in fields if f.endswith("_id")}
    names.discard("source")  # "source_id" is a column, not a relation
    return names


class CommissionEntryQuerySet(models.QuerySet[Any]):
    def for_affiliate(self, affiliate_id: int) -> Self:
        return self.filter(affiliate_id=affiliate_id)

    def in_balance(self) -> Self:
        """Entries that count in a balance: every state but declined."""
        return self.filter(state__in=self.model.BALANCE_STATES)

    def update(self, **kwargs: Any) -> int:
        touched = set(kwargs) & immutable_update_names(self.model)
        if touched:
            raise LedgerImmutableError(
                f"Commission entries are append-only: {sorted(touched)} cannot change."
            )
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise LedgerImmutableError("Commission entries are append-only: they cannot be deleted.")

    delete.queryset_only = True  # type: ignore[attr-defined]  # Django's own marker, untyped
