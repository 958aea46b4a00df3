"""Every write of the tracking app, one module per thing it writes:

- `clicks`: record_click — classify one click (ad, bot, unknown name) and store it through
  the click buffer (tracking.clicks); flush_clicks — the buffer into the table.
- `attribution`: attribute_signup — who referred a new customer (first referrer wins), and
  self_referral_reason, the rule shared with employees.
- `late_claims`: claim_customer — a coupon or "who referred you?" after signup (attributes
  a customer nobody has, else a claim for an admin); accept_claim / reject_claim;
  attribute_by_stripe_coupon — a Stripe invoice paid with an affiliate's coupon.
- `claim_codes`: issue_claim_code / spend_claim_code / purge_expired_claim_codes — the
  mobile-install claim codes standing for a referral cookie (GET /r/claim-code, the signups
  API's referral_code).
- `rollups`: the daily rollups dashboards read — clicks and signups recomputed from the raw
  rows, money columns marked and recomputed for the commissions app.

Pure link functions (parsing, Location, cookies, the link generator) are in tracking.links;
reads in tracking.selectors. This package's face re-exports the public functions, so
callers write `from tracking.services import attribute_signup` whichever module holds it.
"""

from tracking.services.attribution import attribute_signup, name_employee, self_referral_reason
from tracking.services.claim_codes import (
    issue_claim_code,
    purge_expired_claim_codes,
    spend_claim_code,
)
from tracking.services.clicks import ClickOutcome, NeedsDatabase, flush_clicks, record_click
from tracking.services.late_claims import (
    LateClaim,
    accept_claim,
    attribute_by_stripe_coupon,
    claim_customer,
    reject_claim,
)
from tracking.services.referral_stats import (
    RETENTION_DAYS,
    RETENTION_GRACE_DAYS,
    ReferralSummary,
    contribution,
    earners,
    kept_months,
    mark_referrals_due,
    refresh_due_referral_stats,
    set_referral_stats,
    stored_sales,
    stored_share,
)
from tracking.services.retention import Purge, ensure_click_partitions, purge_old_clicks
from tracking.services.rollups import (
    MONEY_REFRESH_LOCK_KEY,
    MoneyRows,
    mark_daily_money_due,
    month_bounds,
    refresh_due_daily_money,
    refresh_monthly_breakdowns,
    refresh_rollups,
    refresh_rollups_for_day,
    set_daily_money,
)

__all__ = [
    "LateClaim",
    "accept_claim",
    "attribute_by_stripe_coupon",
    "claim_customer",
    "reject_claim",
    "MONEY_REFRESH_LOCK_KEY",
    "ClickOutcome",
    "MoneyRows",
    "Purge",
    "RETENTION_DAYS",
    "RETENTION_GRACE_DAYS",
    "ReferralSummary",
    "contribution",
    "kept_months",
    "set_referral_stats",
    "stored_share",
    "stored_sales",
    "earners",
    "attribute_signup",
    "name_employee",
    "ensure_click_partitions",
    "NeedsDatabase",
    "flush_clicks",
    "issue_claim_code",
    "mark_daily_money_due",
    "mark_referrals_due",
    "purge_old_clicks",
    "record_click",
    "refresh_due_daily_money",
    "refresh_due_referral_stats",
    "month_bounds",
    "refresh_monthly_breakdowns",
    "refresh_rollups",
    "refresh_rollups_for_day",
    "self_referral_reason",
    "set_daily_money",
    "purge_expired_claim_codes",
    "spend_claim_code",
]
