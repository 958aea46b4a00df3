"""Every write of the payouts app, one module per concern:

- accounts: payout methods (PayPal e-mail, bank details), tax details, the admin's holds;
- onboarding: Stripe Connect's Express account, its links, payouts_enabled kept current;
- runs: the payout run (balances → payouts and PayPal batches), admin approval, retry;
- transitions: THE state changes of payouts, PayPal batches and runs (by their
  TRANSITIONS tables, compare-and-set, side effects only for rows that moved);
- outcomes: a payout paid, or settled by hand by an admin;
- paypal / stripe_connect: sending through each provider and applying its answers;
- reconcile: the poll_payouts sweep behind webhooks and lost tasks;
- webhooks: stored provider events and their processing;
- notifications: the e-mails about payouts;
- history: what happened, appended (PayoutEvent rows, the audit log).

Ledger entries move only through commissions.services.move_entries (compare-and-set):
approved → in_payout when a payout is created, in_payout → paid when it is paid,
in_payout → approved when it fails (they go out in the next run).

This package's face re-exports the public services (`services.run_payouts`); its
submodules import each other directly, never this module.
"""

from payouts.services.accounts import (
    BANK_DETAILS_MAX_LENGTH,
    confirm_paypal_email,
    hold_affiliate,
    release_affiliate,
    set_manual_details,
    set_paypal_email,
    set_tax_details,
)
from payouts.services.notifications import notify_payout, notify_run_summary
from payouts.services.onboarding import (
    record_account_updated,
    refresh_onboarding_accounts,
    refresh_stripe_account,
    start_stripe_onboarding,
    stripe_onboarding_link,
)
from payouts.services.outcomes import (
    fail_unknown_payouts,
    mark_paid_manually,
    mark_payout_paid,
)
from payouts.services.paypal import apply_paypal_item, refresh_paypal_batch, send_paypal_batch
from payouts.services.reconcile import poll_payouts
from payouts.services.runs import RunResult, approve_run, retry_failed, run_payouts
from payouts.services.stripe_connect import record_transfer_reversed, send_stripe_payout
from payouts.services.webhooks import (
    handle_stripe_event,
    process_paypal_event,
    store_connect_event,
    store_paypal_event,
)

__all__ = [
    "BANK_DETAILS_MAX_LENGTH",
    "RunResult",
    "apply_paypal_item",
    "approve_run",
    "confirm_paypal_email",
    "fail_unknown_payouts",
    "handle_stripe_event",
    "hold_affiliate",
    "mark_paid_manually",
    "mark_payout_paid",
    "notify_payout",
    "notify_run_summary",
    "poll_payouts",
    "process_paypal_event",
    "record_account_updated",
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
