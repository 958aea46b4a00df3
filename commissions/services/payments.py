"""Payments in: store one per external id and append the entries it earns (the rules are
commissions.rules), or leave it waiting for its exchange rate (commissions.services.fx);
refunds and disputes that arrived before their payment are booked when it does
(commissions.services.reversals). Also the Stripe customer ↔ product customer link that
stage two uses to find a payment's referral."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from commissions import referral_stats, rollups, rules
from commissions.models import Dispute, Payment, Refund, StripeCustomerLink
from commissions.selectors import one, rate_to_program
from commissions.services.bounds import (
    MAX_AMOUNT,
    SUPPORTED_CURRENCIES,
    check_amount,
    check_fx_rate,
    check_moment,
)
from commissions.services.fx import UNCONVERTED, finish_waiting, why_waiting
from commissions.services.ledger import insert_entries
from commissions.services.reversals import apply_dispute, apply_refund
from config.errors import ServiceError
from tracking.models import Referral


def link_stripe_customer(*, stripe_customer_id: str, customer_id: str, how: str) -> None:
    """Remember which product customer a Stripe customer is (first link wins)."""
    if stripe_customer_id and customer_id:
        StripeCustomerLink.objects.get_or_create(
            stripe_customer_id=stripe_customer_id,
            defaults={"customer_id": customer_id, "how": how},
        )


@dataclass
class PaymentInput:
    provider: str
    external_id: str
    amount: int  # minor units, net of tax
    currency: str
    paid_at: datetime
    tax: int = 0
    product_plan: str = ""
    subscription_id: str = ""
    charge_id: str = ""
    payment_intent_id: str = ""
    provider_fx_rate: Decimal | None = None
    refs: list[str] = field(default_factory=list)


def record_payment(
    *,
    referral: Referral,
    data: PaymentInput,
    now: datetime,
    cache: dict | None = None,
    recompute: bool = False,
    reported_at: datetime | None = None,
) -> Payment:
    """Store the payment (once per external id) and append the entries it earns. A repeat
    (the twin `invoice.payment_succeeded`, a redelivery) changes nothing; with `recompute`
    (reprocessing) it inserts the entries that are missing, e.g. after a rule was fixed.
    Refunds and disputes that arrived before the payment are applied now.

    `paid_at` may be up to a day after `now`, or after `reported_at` when later: the
    provider's own time for the event (Stripe's `created`), so that stage two judges an
    event by when it was sent, the same on every reprocessing."""
    currency = data.currency.upper()
    if currency not in SUPPORTED_CURRENCIES:
        raise ServiceError(
            f"Unsupported currency {currency}.", fields={"currency": ["Unsupported."]}
        )
    check_amount(data.amount)
    check_moment(data.paid_at, now=max(now, reported_at or now), field="paid_at")
    if data.provider_fx_rate is not None:
        check_fx_rate(data.provider_fx_rate)
    # Stage two (which passes its run cache) calls this inside the event's own savepoint,
    # so a second one here would only cost two round trips; other callers get one.
    with transaction.atomic(savepoint=cache is None):
        memo = rules.payment_memo(cache)
        key = (data.provider, data.external_id)
        if memo is not None and key in memo.existing:
            payment = memo.existing[key]
        else:
            # Not .first(): its ORDER BY pk can make the planner walk the pk index instead
            # of the (provider, external_id) unique index.
            payment = one(
                Payment.objects.filter(provider=data.provider, external_id=data.external_id)
            )
        if payment is not None and not recompute:
            return payment
        new_day = []
        inserted = False
        if payment is None:
            payment, inserted = _insert_payment(
                referral=referral, data=data, currency=currency, now=now, cache=cache
            )
            if inserted:
                rules.remember_payment(payment=payment, referral=referral, cache=cache)
                # The new payment's revenue: its day is marked with its entries' below.
                new_day = [(referral.affiliate_id, rollups.utc_day(payment.paid_at))]
                referral_stats.mark_referrals(referral_ids=[referral.pk])
            else:  # a concurrent run inserted it first: what the memo knows may be stale
                rules.drop_payment_memo(cache)
        if payment.status == Payment.Status.WAITING_FOR_RATE:
            # Stored and answered; its entries come when the rate does (a repeat or a
            # reprocess tries again now, in case the rate has been entered since).
            if payment.program_amount is None and cache is not None:
                cache[UNCONVERTED] = True
            if recompute or not inserted:
                finish_waiting(payment=payment, referral=referral, now=now, cache=cache)
        else:
            insert_entries(
                entries=rules.entries_for_payment(
                    payment=payment, referral=referral, now=now, cache=cache
                ),
                money_days=new_day,
            )
        refs = [r for r in {payment.external_id, payment.charge_id, payment.payment_intent_id} if r]
        # Refunds and disputes that arrived before their payment, in one query (usually
        # none); each is then claimed by compare-and-set.
        waiting = _waiting_for(refs)
        refund_ids = [pk for kind, pk in waiting if kind == "refund"]
        dispute_ids = [pk for kind, pk in waiting if kind == "dispute"]
        for refund in Refund.objects.filter(pk__in=refund_ids) if refund_ids else []:
            Refund.objects.filter(pk=refund.pk, payment__isnull=True).update(payment=payment)
            refund.payment = payment
            apply_refund(refund=refund, now=now)
        for dispute in Dispute.objects.filter(pk__in=dispute_ids) if dispute_ids else []:
            Dispute.objects.filter(pk=dispute.pk, payment__isnull=True).update(payment=payment)
            dispute.payment = payment
            apply_dispute(dispute=dispute, now=now)
        return payment


def _waiting_for(refs: list[str]) -> list[tuple[str, int]]:
    """(kind, pk) of refunds and disputes naming one of `refs` that wait for their payment.
    Plain SQL: it runs for every payment, and the ORM's UNION costs more to build than
    the database takes to answer it."""
    marks = ", ".join(["%s"] * len(refs))
    sql = (
        f"SELECT 'refund', id FROM {Refund._meta.db_table} "
        f"WHERE payment_id IS NULL AND payment_ref IN ({marks}) "
        "UNION ALL "
        f"SELECT 'dispute', id FROM {Dispute._meta.db_table} "
        f"WHERE payment_id IS NULL AND payment_ref IN ({marks})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*refs, *refs])
        return [(str(kind), int(pk)) for kind, pk in cursor.fetchall()]


def _insert_payment(
    *, referral: Referral, data: PaymentInput, currency: str, now: datetime, cache: dict | None
) -> tuple[Payment, bool]:
    """(payment, inserted): insert the payment, or return the row a concurrent run inserted
    first (unique on (provider, external_id)). get_or_create without its SELECT: the
    caller has just looked."""
    found = rate_to_program(currency=currency, at=data.paid_at, provider_rate=data.provider_fx_rate)
    fx_rate, fx_source = found if found is not None else (None, "")
    program_amount = rules.convert(data.amount, fx_rate) if fx_rate is not None else None
    if program_amount is not None and program_amount > MAX_AMOUNT:
        raise ServiceError(
            f"amount is {program_amount} minor units in {settings.PROGRAM_CURRENCY}, above "
            f"{MAX_AMOUNT}.",
            code="amount_out_of_bounds",
            fields={"amount": [f"Above {MAX_AMOUNT} once converted."]},
        )
    payment = Payment(
        provider=data.provider,
        external_id=data.external_id,
        referral=referral,
        customer_id=referral.customer_id,
        amount=data.amount,
        tax=data.tax,
        currency=currency,
        paid_at=data.paid_at,
        product_plan=data.product_plan[:120],
        subscription_id=data.subscription_id,
        is_first=not rules.has_earlier_payment(
            referral=referral, paid_at=data.paid_at, external_id=data.external_id, cache=cache
        ),
        charge_id=data.charge_id,
        payment_intent_id=data.payment_intent_id,
        fx_rate=fx_rate,
        fx_source=fx_source,
        program_amount=program_amount,
        created_at=now,
    )
    reason, blocker = why_waiting(payment=payment, referral=referral, cache=cache)
    if reason:
        payment.status = Payment.Status.WAITING_FOR_RATE
        payment.status_reason = reason[:255]
        payment.blocked_by = blocker
    if cache is not None:
        # Stage two: a lost race raises IntegrityError here, which rolls back the event's
        # savepoint; commissions.ingest.pipeline then runs the event once more and finds the
        # row. That spares a savepoint per payment.
        payment.save(force_insert=True)
        return payment, True
    try:
        with transaction.atomic():
            payment.save(force_insert=True)
    except IntegrityError:
        existing = one(Payment.objects.filter(provider=data.provider, external_id=data.external_id))
        if existing is None:
            raise
        return existing, False
    return payment, True
