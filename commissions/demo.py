"""Demo payments for seed_demo: deterministic and idempotent. Each referred demo customer
gets a fate from a hash of its id — signed up only, paying monthly, churned after a month or
two, refunded, or lost to a chargeback — and pays through the same path as the payments API
(stored event → stage two), each payment processed when it was paid, so the ledger reads
like a program that has been running: old entries past their hold, recent ones pending.
Running it twice (or later, with a newer clock) adds only what is new.

Approval is not done here: payouts/demo.py approves along its payout calendar, so each
past payout run pays what was approved by its own date."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from random import Random

from commissions.ingest import submit_api_event
from commissions.models import CommissionEntry, Payment
from commissions.referral_stats import refresh_referral_stats
from commissions.rollups import refresh_daily_money
from commissions.services import (
    record_dispute,
    record_refund,
    record_signup_commission,
    set_exchange_rate,
)
from tracking.models import Referral

# (product plan, monthly price in minor units)
PRODUCT_PLANS = [("Starter", 1000), ("Pro", 4000), ("Business", 9900)]
CURRENCIES = ["USD", "USD", "USD", "EUR", "GBP"]
RATES = {"EUR": Decimal("1.0800000000"), "GBP": Decimal("1.2700000000")}
# Of ten paying customers: one refunded in full, one lost to a chargeback, two churned.
REFUNDED, DISPUTED, CHURNED = {0}, {1}, {2, 3}
REFUND_AFTER = timedelta(days=4)
DISPUTE_AFTER = timedelta(days=8)


def _pick(customer_id: str, salt: str, n: int) -> int:
    # A hash, not the shared rng: the same customer gets the same figures whatever ran before.
    return int(hashlib.sha256(f"{salt}:{customer_id}".encode()).hexdigest(), 16) % n


def _pay(*, referral: Referral, month: int, paid_at: datetime, plan: str, price: int) -> None:
    currency = CURRENCIES[_pick(referral.customer_id, "cur", len(CURRENCIES))]
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
        now=paid_at,
    )


def _reverse_first_payment(*, referral: Referral, fate: int, now: datetime) -> None:
    """The refunded customer's first payment comes back in full within the hold; the
    disputed one's is charged back (lost). Stored once per external id."""
    payment = Payment.objects.filter(external_id=f"demo-{referral.customer_id}-0").first()
    if payment is None:
        return
    if fate in REFUNDED and payment.paid_at + REFUND_AFTER <= now:
        at = payment.paid_at + REFUND_AFTER
        record_refund(
            provider=payment.provider,
            external_id=f"demo-refund-{referral.customer_id}",
            payment_ref=payment.external_id,
            amount=payment.amount,
            currency=payment.currency,
            refunded_at=at,
            now=at,
        )
    elif fate in DISPUTED and payment.paid_at + DISPUTE_AFTER <= now:
        at = payment.paid_at + DISPUTE_AFTER
        record_dispute(
            provider=payment.provider,
            external_id=f"demo-dispute-{referral.customer_id}",
            payment_ref=payment.external_id,
            amount=payment.amount,
            currency=payment.currency,
            status="lost",
            at=at,
            now=at,
        )


def seed(*, now: datetime, rng: Random) -> list[str]:
    for currency, rate in RATES.items():
        set_exchange_rate(currency=currency, rate=rate, valid_from=datetime(2026, 1, 1, tzinfo=UTC))
    referrals = list(
        Referral.objects.filter(affiliate__isnull=False, created_at__lte=now).order_by("pk")[:500]
    )
    for referral in referrals:
        record_signup_commission(referral_id=referral.pk, now=referral.created_at)
        if _pick(referral.customer_id, "pays", 3) == 0:
            continue  # a third of referred customers never pay
        plan, price = PRODUCT_PLANS[_pick(referral.customer_id, "plan", len(PRODUCT_PLANS))]
        fate = _pick(referral.customer_id, "fate", 10)
        if fate in REFUNDED | DISPUTED:
            months = 1  # gone after the first payment came back
        elif fate in CHURNED:
            months = 1 + _pick(referral.customer_id, "months", 2)
        else:
            months = None  # still paying
        first = max(referral.created_at, now - timedelta(days=150)) + timedelta(days=1)
        month = 0
        while first + timedelta(days=30 * month) < now and (months is None or month < months):
            _pay(
                referral=referral,
                month=month,
                paid_at=first + timedelta(days=30 * month),
                plan=plan,
                price=price,
            )
            month += 1
        if fate in REFUNDED | DISPUTED:
            _reverse_first_payment(referral=referral, fate=fate, now=now)
    # What the every-minute sweeper does: bring every day these payments touched into the
    # dashboards' rollups.
    refresh_daily_money(now=now)
    refresh_referral_stats(now=now)
    return [
        f"commissions: {Payment.objects.count()} payments, "
        f"{CommissionEntry.objects.count()} ledger entries"
    ]
