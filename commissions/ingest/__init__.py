"""Provider events in: stage one stores them verbatim, stage two turns stored events into
payments, refunds, disputes and entries.

Stage two reads only the store (never the provider), so a bug there is fixed by fixing the
code and re-running it (`manage.py process_events --reprocess`). Reprocessing keeps the
ledger append-only: existing payments and entries are left as they are (unique constraints
on the external ids and on (source, kind, affiliate)), and only rows that are missing —
e.g. because a rule was wrong or a plan bonus was configured late — are inserted.

    store.py            stage one: store_event, customer links learnt at store time
    pipeline.py         stage two: claim, batch, retry with backoff, park, reprocess
    prefetch.py         stage two's batch reads (referrals, the payment memo)
    handlers.py         which handlers run for which type (settings.STRIPE_EVENT_HANDLERS)
    stripe_handlers.py  Stripe invoices, refunds, disputes, subscriptions, customers
    api_handlers.py     payments and refunds reported through the API
    customers.py        the referral behind a Stripe customer
    payload.py          reading a stored payload defensively
    sync.py             the catch-up sync of Stripe's event list
    submit.py           an API submission: store and process at once
    errors.py           Skip, MalformedEvent

This package's public face; the submodules import one another directly, never this file.
"""

from commissions.ingest.customers import referral_for_stripe_customer
from commissions.ingest.errors import MalformedEvent, Skip
from commissions.ingest.handlers import handled_types, handlers_for
from commissions.ingest.pipeline import (
    MAX_ATTEMPTS,
    RETRY_BASE,
    process_event,
    process_pending_events,
    reprocess_events,
    retry_events,
)
from commissions.ingest.store import store_event
from commissions.ingest.submit import submit_api_event
from commissions.ingest.sync import SYNC_OVERLAP_SECONDS, sync_stripe

__all__ = [
    "MAX_ATTEMPTS",
    "RETRY_BASE",
    "SYNC_OVERLAP_SECONDS",
    "MalformedEvent",
    "Skip",
    "handled_types",
    "handlers_for",
    "process_event",
    "process_pending_events",
    "referral_for_stripe_customer",
    "reprocess_events",
    "retry_events",
    "store_event",
    "submit_api_event",
    "sync_stripe",
]
