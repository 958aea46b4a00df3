"""Demo payments for seed_demo: deterministic and idempotent. Each referred demo customer
pays monthly through the same path as the payments API (stored event → stage two), so
running it twice changes nothing; exchange rates for EUR and GBP; then signup bounties
and the approval job at the demo clock."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from random import Random

from commissions.ingest import submit_api_event
from commissions.models import CommissionEntry, Payment
from commissions.rollups import refresh_daily_money
from commissions.services import (
    approve_due_commissions,
    record_signup_commission,
    set_exchange_rate,
)
from tracking.models import Referral

# (product plan, monthly price in minor units)
PRODUCT_PLANS = [("Starter", 1000), ("Pro", 4000), ("Business", 9900)]
CURRENCIES = ["USD", "USD", "USD", "EUR", "GBP"]
RATES = {"EUR": Decimal("1.0800000000"), "GBP": Decimal("1.2700000000")}


def _pick(customer_id: str, salt: str, n: int) -> int:
    # A hash, not the shared rng: the same customer gets the same figures whatever ran before.
    return int(hashlib.sha256(f"{salt}:{customer_id}".encode()).hexdigest(), 16) % n


def seed(*, now: datetime, rng: Random) -> list[str]:
    for currency, rate in RATES.items():
        set_exchange_rate(currency=currency, rate=rate, valid_from=datetime(2026, 1, 1, tzinfo=UTC))
    referrals = list(Referral.objects.filter(affiliate__isnull=False).order_by("pk")[:200])
    for referral in referrals:
        record_signup_commission(referral_id=referral.pk, now=now)
        if _pick(referral.customer_id, "pays", 3) == 0:
            continue  # a third of referred customers never pay
        plan, price = PRODUCT_PLANS[_pick(referral.customer_id, "plan", len(PRODUCT_PLANS))]
        currency = CURRENCIES[_pick(referral.customer_id, "cur", len(CURRENCIES))]
        first = max(referral.created_at, now - timedelta(days=150)) + timedelta(days=1)
        month = 0
        while first + timedelta(days=30 * month) < now:
            paid_at = first + timedelta(days=30 * month)
            payment_id = f"demo-{referral.customer_id}-{month}"
            submit_api_event(
                kind="payment",
                external_id=payment_id,
                data={
                    "payment_id": payment_id,
                    "customer_id": referral.customer_id,
                    "amount": price,
                    "currency": currency,
                    "paid_at": paid_at.astimezone(UTC).isoformat(),
                    "plan": plan,
                },
                created=paid_at,
                now=now,
            )
            month += 1
    result = approve_due_commissions(now=now, notify=False)
    # What the every-minute sweeper does: bring every day these payments touched into the
    # dashboards' rollups (the payments were processed at the demo clock, up to 150 days
    # after they were paid).
    refresh_daily_money(now=now)
    return [
        f"commissions: {Payment.objects.count()} payments, "
        f"{CommissionEntry.objects.count()} ledger entries "
        f"({result.approved} approved by this run)"
    ]
