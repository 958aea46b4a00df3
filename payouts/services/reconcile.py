"""The safety net behind webhooks and lost tasks (poll_payouts, on beat every few
minutes): re-send what never went out, ask the providers about what is unknown, and read
the items of PayPal batches still open."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

from payouts.gateways import base
from payouts.gateways.base import PermanentError, TransientError
from payouts.models import Payout, PayoutAccount, PayoutRun, PayPalBatch
from payouts.services.paypal import refresh_paypal_batch, send_paypal_batch
from payouts.services.stripe_connect import send_stripe_payout

S = Payout.State
SOURCE = "poll_payouts"  # what the payouts' history names as the cause


def poll_payouts(*, now: datetime, stale_after: timedelta = timedelta(minutes=5)) -> dict[str, int]:
    """The safety net for webhooks and lost tasks: resend batches and transfers whose task
    never ran (pending, stale), reconcile unknown ones by asking the provider, and read the
    item results of PayPal batches that are still open."""
    counts = {"paypal_sent": 0, "paypal_polled": 0, "stripe": 0, "errors": 0}
    cutoff = now - stale_after
    approved_runs = PayoutRun.objects.filter(state=PayoutRun.State.APPROVED)
    resend = PayPalBatch.objects.filter(run__in=approved_runs).filter(
        Q(state=PayPalBatch.State.UNKNOWN)
        | Q(
            state__in=[PayPalBatch.State.PENDING, PayPalBatch.State.SENDING], created_at__lte=cutoff
        )
    )
    for batch_id in resend.values_list("pk", flat=True):
        try:
            send_paypal_batch(batch_id=batch_id, now=now, source=SOURCE)
            counts["paypal_sent"] += 1
        except (TransientError, base.ProviderNotConfigured):
            counts["errors"] += 1
    for batch_id in PayPalBatch.objects.filter(state=PayPalBatch.State.SENT).values_list(
        "pk", flat=True
    ):
        try:
            refresh_paypal_batch(batch_id=batch_id, now=now, source=SOURCE)
            counts["paypal_polled"] += 1
        except (TransientError, PermanentError, base.ProviderNotConfigured):
            counts["errors"] += 1
    stripe_open = Payout.objects.filter(
        run__in=approved_runs, method=PayoutAccount.Method.STRIPE
    ).filter(Q(state=S.UNKNOWN) | Q(state__in=[S.PENDING, S.SENDING], created_at__lte=cutoff))
    for payout_id in stripe_open.values_list("pk", flat=True):
        try:
            send_stripe_payout(payout_id=payout_id, now=now, source=SOURCE)
            counts["stripe"] += 1
        except (TransientError, base.ProviderNotConfigured):
            counts["errors"] += 1
    return counts
