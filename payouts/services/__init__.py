"""Every write of the payouts app: payout methods, the payout run, sending through PayPal
and Stripe Connect, provider results, manual payment, and the admin's actions.

Ledger entries move only through commissions.services.move_entries (compare-and-set):
approved → in_payout when a payout is created, in_payout → paid when it is paid,
in_payout → approved when it fails (they go out in the next run).
"""

from __future__ import annotations

import logging

from commissions.models import CommissionEntry
from payouts.models import Payout
from payouts.services.accounts import (
    BANK_DETAILS_MAX_LENGTH,
    confirm_paypal_email,
    get_account,
    hold_affiliate,
    refresh_onboarding_accounts,
    refresh_stripe_account,
    release_affiliate,
    set_manual_details,
    set_paypal_email,
    set_tax_details,
    start_stripe_onboarding,
    stripe_onboarding_link,
)
from payouts.services.history import audit
from payouts.services.notifications import notify_payout, notify_run_summary, program_manager_emails
from payouts.services.outcomes import (
    FINAL_STATES,
    close_batch_if_final,
    complete_runs_if_final,
    fail_payout,
    fail_unknown_payouts,
    jsonable,
    mark_paid_manually,
    mark_payout_paid,
    move_entries_in_chunks,
)
from payouts.services.paypal import (
    PAYPAL_FAILED,
    PAYPAL_WAITING,
    apply_paypal_item,
    refresh_paypal_batch,
    send_paypal_batch,
)
from payouts.services.reconcile import poll_payouts
from payouts.services.runs import (
    PAYPAL_BATCH_LIMIT,
    RUN_LOCK_KEY,
    RunResult,
    approve_run,
    retry_failed,
    run_payouts,
)
from payouts.services.stripe_connect import record_transfer_reversed, send_stripe_payout
from payouts.services.webhooks import (
    handle_stripe_event,
    process_paypal_event,
    store_connect_event,
    store_paypal_event,
)

__all__ = [
    "BANK_DETAILS_MAX_LENGTH",
    "FINAL_STATES",
    "PAYPAL_BATCH_LIMIT",
    "PAYPAL_FAILED",
    "PAYPAL_WAITING",
    "RUN_LOCK_KEY",
    "RunResult",
    "apply_paypal_item",
    "approve_run",
    "audit",
    "close_batch_if_final",
    "complete_runs_if_final",
    "confirm_paypal_email",
    "fail_payout",
    "fail_unknown_payouts",
    "get_account",
    "handle_stripe_event",
    "hold_affiliate",
    "jsonable",
    "mark_paid_manually",
    "mark_payout_paid",
    "move_entries_in_chunks",
    "notify_payout",
    "notify_run_summary",
    "poll_payouts",
    "process_paypal_event",
    "program_manager_emails",
    "record_transfer_reversed",
    "refresh_onboarding_accounts",
    "refresh_paypal_batch",
    "refresh_stripe_account",
    "release_affiliate",
    "retry_failed",
    "run_payouts",
    "send_paypal_batch",
    "send_stripe_payout",
    "set_manual_details",
    "set_paypal_email",
    "set_tax_details",
    "start_stripe_onboarding",
    "store_connect_event",
    "store_paypal_event",
    "stripe_onboarding_link",
]


log = logging.getLogger(__name__)


S = Payout.State
E = CommissionEntry.State


# --- Payout methods ---------------------------------------------------------------------


# --- The payout run ---------------------------------------------------------------------


# --- Payout outcomes --------------------------------------------------------------------


# --- Sending: PayPal --------------------------------------------------------------------


# --- Sending: Stripe Connect ------------------------------------------------------------


# --- Poll / sweep -----------------------------------------------------------------------


# --- Webhooks ---------------------------------------------------------------------------


# --- Notifications ----------------------------------------------------------------------
