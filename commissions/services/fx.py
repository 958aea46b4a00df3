"""Exchange rates, and the payments that wait for one.

Every valid payment is stored. Its entries are in its own currency; only program figures
(`program_amount`, tiers by last month's sales) need the program currency — but every entry
records its payment's rate, immutably (the program dashboard's commission cost reads it), so
a payment in another currency needs its rate before its entries are written, whatever its
plan. A payment in another currency with no rate known (none given by the provider or the
API call, none in the admin's table valid at `paid_at`) waits — status `waiting_for_rate`,
the reason in `status_reason` — and is never computed on a guessed rate; so does a payment
whose tier depends on last month's sales while one of those is still without a rate.
Entering a rate (set_exchange_rate, or admin) enqueues process_waiting_payments on commit;
the every-minute sweeper runs it too. Refunds and lost disputes of a waiting payment are
stored and linked at once but booked when its entries are computed (so they decline or
claw back exactly as if they had come after: commissions.services.reversals).

The rate itself is a read (commissions.selectors.rate_to_program).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from commissions import referral_stats, rollups, rules
from commissions.models import Dispute, ExchangeRate, Payment, Refund
from commissions.selectors import one, rate_to_program
from commissions.services.bounds import MAX_AMOUNT, check_fx_rate
from commissions.services.ledger import insert_entries
from commissions.services.reversals import apply_dispute, apply_refund
from config.queue import enqueue_on_commit
from tracking.models import Referral

# Run-cache key: True once any payment without a program amount may exist (stage two asks
# the database once per run, not once per tiered payment).
UNCONVERTED = ("payments", "unconverted")


def set_exchange_rate(*, currency: str, rate: Decimal, valid_from: datetime) -> ExchangeRate:
    """Enter (or correct) the rate of `currency` from `valid_from`. Payments already
    computed keep the rate they were recorded with; payments waiting for this currency's
    rate are processed once this commits."""
    check_fx_rate(Decimal(rate), field="rate")
    with transaction.atomic():
        row, _ = ExchangeRate.objects.update_or_create(
            currency=currency.upper(), valid_from=valid_from, defaults={"rate": rate}
        )
        enqueue_waiting_payments(currency=row.currency)
    return row


def enqueue_waiting_payments(*, currency: str) -> None:
    """On commit, process the payments waiting for `currency`'s rate (also for admin saves
    of a rate). A lost enqueue (broker down: logged) is caught by the every-minute sweeper."""
    enqueue_on_commit("commissions.process_waiting_payments", currency=currency)


def why_waiting(
    *, payment: Payment, referral: Referral, cache: dict | None
) -> tuple[str, Payment | None]:
    """Why the payment's entries cannot be computed yet ("" when they can), and the earlier
    payment it waits for, if that is the reason."""
    if payment.fx_rate is None:
        return (
            f"No {payment.currency} → {settings.PROGRAM_CURRENCY} exchange rate valid at "
            f"{payment.paid_at:%Y-%m-%d %H:%M} UTC: add one in admin (Exchange rates) valid "
            "from that date or earlier, and the payment is processed.",
            None,
        )
    if payment.program_amount is None:
        return (
            f"Converted at {payment.fx_rate}, the amount exceeds {MAX_AMOUNT} minor units: "
            "check the payment and the rate.",
            None,
        )
    blocker = _unconverted_sales(payment=payment, referral=referral, cache=cache)
    if blocker is not None:
        return (
            f"Its tier depends on last month's sales, which include payment "
            f"{blocker.external_id} still waiting for a {blocker.currency} rate.",
            blocker,
        )
    return "", None


def _unconverted_sales(
    *, payment: Payment, referral: Referral, cache: dict | None
) -> Payment | None:
    """A payment of last month without a program amount among the sales that set one of
    this payment's tiered rates (sales would otherwise count it as 0: a guessed rate)."""
    if cache is not None:
        if UNCONVERTED not in cache:
            cache[UNCONVERTED] = Payment.objects.filter(program_amount__isnull=True).exists()
        if not cache[UNCONVERTED]:
            return None
    start, end = rules.previous_month(payment.paid_at)
    for affiliate, _ in rules.earners(referral, payment):
        plan = rules.plan_of(affiliate, cache)
        if affiliate.commission_override_bp is not None or not plan.use_tiers or not plan.pk:
            continue
        if not plan.tiers.all():
            continue
        if rules.line_bp(plan, payment, cache) is not None:
            continue  # its product line's rate replaces the tiers: no sales to wait for
        blocker = one(
            Payment.objects.filter(
                Q(referral__affiliate_id=affiliate.pk) | Q(referral__employee_id=affiliate.pk),
                program_amount__isnull=True,
                paid_at__gte=start,
                paid_at__lt=end,
            ).exclude(pk=payment.pk)
        )
        if blocker is not None:
            return blocker
    return None


def finish_waiting(
    *, payment: Payment, referral: Referral, now: datetime, cache: dict | None = None
) -> bool:
    """Compute a waiting payment if it can be now: take the rate (from null, once), write
    its entries, book the refunds and disputes that waited with it. Otherwise refresh the
    reason. The caller holds the payment's row lock (or stage two's transaction)."""
    if payment.fx_rate is None:
        found = rate_to_program(currency=payment.currency, at=payment.paid_at)
        if found is not None:
            fx_rate, fx_source = found
            converted = rules.convert(payment.amount, fx_rate)
            program_amount = converted if converted <= MAX_AMOUNT else None
            Payment.objects.filter(pk=payment.pk, fx_rate__isnull=True).update(
                fx_rate=fx_rate, fx_source=fx_source, program_amount=program_amount
            )
            payment.fx_rate, payment.fx_source = fx_rate, fx_source
            payment.program_amount = program_amount
            rules.drop_payment_memo(cache)  # its sales figures just changed
    reason, blocker = why_waiting(payment=payment, referral=referral, cache=cache)
    if reason:
        blocker_id = blocker.pk if blocker is not None else None
        if (reason[:255], blocker_id) != (payment.status_reason, payment.blocked_by_id):
            Payment.objects.filter(pk=payment.pk, status=Payment.Status.WAITING_FOR_RATE).update(
                status_reason=reason[:255], blocked_by=blocker
            )
            payment.status_reason, payment.blocked_by = reason[:255], blocker
        return False
    if not Payment.objects.filter(pk=payment.pk, status=Payment.Status.WAITING_FOR_RATE).update(
        status=Payment.Status.COMPUTED, status_reason="", blocked_by=None
    ):
        return False  # another run finished it
    payment.status, payment.status_reason, payment.blocked_by = Payment.Status.COMPUTED, "", None
    # Its revenue joins its paid day now that it has a program-currency value.
    referral_stats.mark_referrals(referral_ids=[referral.pk])
    insert_entries(
        entries=rules.entries_for_payment(payment=payment, referral=referral, now=now, cache=cache),
        money_days=[(referral.affiliate_id, rollups.utc_day(payment.paid_at))],
    )
    # Booked in the order they happened, as if they had come after the entries.
    for refund in Refund.objects.filter(payment=payment, applied_at__isnull=True).order_by(
        "refunded_at", "pk"
    ):
        apply_refund(refund=refund, now=now)
    for dispute in Dispute.objects.filter(
        payment=payment, status=Dispute.Status.LOST, applied_at__isnull=True
    ):
        apply_dispute(dispute=dispute, now=now)
    return True


def process_waiting_payment(*, payment_id: int, now: datetime) -> bool:
    """Compute one waiting payment if its rate is known now. True when it was computed."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .filter(pk=payment_id, status=Payment.Status.WAITING_FOR_RATE)
            .first()
        )
        if payment is None:
            return False
        referral = Referral.objects.select_related("affiliate", "employee").get(
            pk=payment.referral_id
        )
        return finish_waiting(payment=payment, referral=referral, now=now)


def process_waiting_payments(
    *, now: datetime, currency: str | None = None, limit: int = 1000
) -> int:
    """Compute the waiting payments that can be now (those of `currency`, or blocked by a
    payment of it; all when None), oldest first, so a payment blocked by an earlier one
    follows it in the same run. Returns how many were computed. Run on commit of a new
    rate, and by the every-minute sweeper (it selects only payments whose rate exists or
    whose blocker got one, so a payment still without a rate costs nothing)."""
    has_rate = Exists(
        ExchangeRate.objects.filter(
            currency=OuterRef("currency"), valid_from__lte=OuterRef("paid_at")
        )
    )
    candidates = Payment.objects.filter(status=Payment.Status.WAITING_FOR_RATE).filter(
        Q(fx_rate__isnull=True, blocked_by__isnull=True) & Q(has_rate)
        | Q(blocked_by__isnull=False, blocked_by__program_amount__isnull=False)
    )
    if currency is not None:
        candidates = candidates.filter(
            Q(currency=currency.upper()) | Q(blocked_by__currency=currency.upper())
        )
    computed = tried = 0
    seen: set[int] = set()
    while tried < limit:
        ids = [
            pk
            for pk in candidates.order_by("paid_at", "pk").values_list("pk", flat=True)[:limit]
            if pk not in seen
        ]
        if not ids:
            break
        for pk in ids[: limit - tried]:
            seen.add(pk)
            tried += 1
            computed += process_waiting_payment(payment_id=pk, now=now)
    return computed
