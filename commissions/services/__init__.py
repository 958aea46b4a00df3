"""Every write to payments, refunds, disputes and the ledger, one module per concern:

- `ledger`: the two ways entries are written — `insert_entries`, `move_entries` (state moves
  by compare-and-set along CommissionEntry.TRANSITIONS);
- `bounds`: what an amount, a date or an exchange rate may be (`check_*`, the limits);
- `payments`: a payment in, once per external id, and the entries it earns;
- `fx`: exchange rates, and the payments that wait for one;
- `reversals`: refunds and disputes, and the refund policy (decline, kept share, clawback);
- `signups`: signup bounties and plan changes;
- `approval`: the job that approves entries whose hold has ended.

Reads live in commissions.selectors (`rate_to_program`, `find_payment`, `one`). This
package's public face re-exports the services, so `from commissions.services import
record_payment` keeps working; the submodules import their siblings, never this file.
"""

from commissions.services.approval import ApprovalResult, approve_due_commissions
from commissions.services.bounds import (
    EARLIEST_MOMENT,
    FUTURE_SLACK,
    FX_DECIMAL_PLACES,
    MAX_AMOUNT,
    MAX_FX_RATE,
    MIN_AMOUNT,
    SUPPORTED_CURRENCIES,
    check_amount,
    check_fx_rate,
    check_moment,
)
from commissions.services.fx import (
    enqueue_waiting_payments,
    process_waiting_payment,
    process_waiting_payments,
    set_exchange_rate,
)
from commissions.services.ledger import insert_entries, move_entries
from commissions.services.payments import PaymentInput, link_stripe_customer, record_payment
from commissions.services.reversals import apply_refund, record_dispute, record_refund
from commissions.services.signups import (
    record_plan_change,
    record_signup_commission,
    write_missing_signup_entries,
)

__all__ = [
    "EARLIEST_MOMENT",
    "FUTURE_SLACK",
    "FX_DECIMAL_PLACES",
    "MAX_AMOUNT",
    "MAX_FX_RATE",
    "MIN_AMOUNT",
    "SUPPORTED_CURRENCIES",
    "ApprovalResult",
    "PaymentInput",
    "apply_refund",
    "approve_due_commissions",
    "check_amount",
    "check_fx_rate",
    "check_moment",
    "enqueue_waiting_payments",
    "insert_entries",
    "link_stripe_customer",
    "move_entries",
    "process_waiting_payment",
    "process_waiting_payments",
    "record_dispute",
    "record_payment",
    "record_plan_change",
    "record_refund",
    "record_signup_commission",
    "set_exchange_rate",
    "write_missing_signup_entries",
]
