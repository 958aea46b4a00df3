"""Payouts' outbound webhook events, `payout.paid` and `payout.failed` (payloads in README
"Outbound webhooks"), written to the outbox by webhooks.services in the caller's
transaction. A paid or failed payout is final, so each is sent once (keyed by payout)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from payouts.models import Payout
from webhooks import services as webhooks


def emit_payouts_final(*, payout_ids: Iterable[int], state: str, now: datetime) -> None:
    type = f"payout.{state}"
    if state not in (Payout.State.PAID, Payout.State.FAILED) or not webhooks.subscribed(type):
        return
    # The payout's destination (PayPal e-mail, bank details) and tax data stay out.
    rows = Payout.objects.filter(pk__in=list(payout_ids)).values(
        "id", "run_id", "affiliate_id", "amount", "currency", "method", "state", "reference"
    )
    events = []
    for row in rows:
        data = {"payout": {**row, "paid_at" if state == "paid" else "failed_at": now.isoformat()}}
        events.append(webhooks.Event(type, data, key=f"{type}:{row['id']}"))
    webhooks.emit_many(events=events, now=now)
