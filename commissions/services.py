"""Every write to payments, refunds, disputes and the ledger.

Refund policy (partial refunds): while a payment's entries are pending, a refund declines
them and, if part of the payment is kept, writes a new pending entry for the kept share
(same kind, rate and hold end; source = the refund). After approval (or payout) a refund
adds a negative `clawback` entry, approved at once and netted in the next payout; its
amount is rate(kept after) − rate(kept before), so successive partial refunds add up to
exactly the entry's amount when everything is refunded. A lost dispute is booked as a
refund of whatever is left. Plan bonuses are declined on a full refund while pending and
are not clawed back after approval (their own long hold is the protection).

Exchange rates: every valid payment is stored. Its entries are in its own currency; only
program figures (`program_amount`, tiers by last month's sales) need the program currency —
but every entry records its payment's rate, immutably (the program dashboard's commission
cost reads it), so a payment in another currency needs its rate before its entries are
written, whatever its plan. A payment in another currency with no rate known (none given by the provider or the API
call, none in the admin's table valid at `paid_at`) waits — status `waiting_for_rate`, the
reason in `status_reason` — and is never computed on a guessed rate; so does a payment
whose tier depends on last month's sales while one of those is still without a rate.
Entering a rate (set_exchange_rate, or admin) enqueues process_waiting_payments on commit;
the every-minute sweeper runs it too. Refunds and lost disputes of a waiting payment are
stored and linked at once but booked when its entries are computed (so they decline or
claw back exactly as if they had come after).

Bounds: amounts are 1 … 10^12 minor units, dates from 2000-01-01 to one day after `now`
(clock skew between a billing system and us), exchange rates positive, at most 10^6 and 10
decimal places. Amounts that large are far above any real payment ($10 billion) and keep
every sum we write (monthly sales, daily rollups) far from bigint's 9.2 × 10^18.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, Sum

from commissions import rollups, rules
from commissions.models import (
    CommissionEntry,
    Dispute,
    ExchangeRate,
    Payment,
    PlanChange,
    Refund,
    StoredEvent,
    StripeCustomerLink,
)
from config.errors import Conflict, ServiceError
from tracking.models import Referral

logger = logging.getLogger(__name__)

State = CommissionEntry.State
Kind = CommissionEntry.Kind
SUPPORTED_CURRENCIES = ("USD", "EUR", "GBP")

_STATE_TIMESTAMP = {
    CommissionEntry.State.APPROVED: "approved_at",
    CommissionEntry.State.DECLINED: "declined_at",
    CommissionEntry.State.IN_PAYOUT: "in_payout_at",
    CommissionEntry.State.PAID: "paid_at",
}


def move_entries(
    *, entry_ids: Iterable[int], from_state: str, to_state: str, now: datetime, note: str = ""
) -> int:
    """Compare-and-set state move for many entries: only rows still in `from_state` move.
    Returns how many moved; callers that need all-or-nothing compare it to len(entry_ids)."""
    if to_state not in CommissionEntry.TRANSITIONS.get(from_state, set()):
        raise ValueError(f"Commission entries cannot move from {from_state} to {to_state}.")
    ids = list(entry_ids)
    if not ids:
        return 0
    update = {"state": to_state, _STATE_TIMESTAMP[to_state]: now}
    if note:
        update["state_note"] = note[:200]
    with transaction.atomic():
        moved = CommissionEntry.objects.filter(pk__in=ids, state=from_state).update(**update)
        if moved and to_state == State.DECLINED:
            # A declined entry leaves the commission of its day (commissions.rollups).
            rollups.mark_entry_ids(entry_ids=ids)
        return moved


def insert_entries(
    *, entries: list[CommissionEntry], money_days: Iterable[tuple[int | None, date]] = ()
) -> int:
    """Append entries; one already there for its (source, kind, affiliate) is left as it is
    (a recorded commission stays recorded). Returns how many rows were offered.

    Marks the entries' (affiliate, day) rollups due in the same transaction, with
    `money_days` (other days whose money the caller changed), in one INSERT."""
    with transaction.atomic(savepoint=False):
        rollups.mark_entries(entries=entries, also=money_days)
        if not entries:
            return 0
        return len(CommissionEntry.objects.bulk_create(entries, ignore_conflicts=True))


# --- bounds ------------------------------------------------------------------------------

MIN_AMOUNT = 1
MAX_AMOUNT = 10**12  # minor units; see the module docstring
EARLIEST_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)
# A billing system's clock may run ahead of ours; a day more is a typo or a test clock.
FUTURE_SLACK = timedelta(days=1)
MAX_FX_RATE = Decimal(10**6)
FX_DECIMAL_PLACES = 10  # ExchangeRate.rate / Payment.fx_rate store 10 places


def check_amount(amount: int, *, field: str = "amount") -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ServiceError(f"{field} must be an integer.", fields={field: ["Not an integer."]})
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise ServiceError(
            f"{field} must be between {MIN_AMOUNT} and {MAX_AMOUNT} minor units.",
            code="amount_out_of_bounds",
            fields={field: [f"Must be {MIN_AMOUNT} … {MAX_AMOUNT}."]},
        )


def check_moment(moment: datetime, *, now: datetime, field: str) -> None:
    latest = now + FUTURE_SLACK
    if not EARLIEST_MOMENT <= moment <= latest:
        raise ServiceError(
            f"{field} must be between {EARLIEST_MOMENT:%Y-%m-%d} and one day from now.",
            code="date_out_of_bounds",
            fields={field: [f"Must be {EARLIEST_MOMENT:%Y-%m-%d} … {latest.isoformat()}."]},
        )


def check_fx_rate(rate: Decimal, *, field: str = "exchange_rate") -> None:
    try:
        ok = rate.is_finite() and 0 < rate <= MAX_FX_RATE
        places = -rate.as_tuple().exponent if ok else 0  # type: ignore[operator]
    except (InvalidOperation, TypeError, AttributeError):
        ok, places = False, 0
    if not ok or places > FX_DECIMAL_PLACES:
        raise ServiceError(
            f"{field} must be a positive decimal of at most {MAX_FX_RATE} with at most "
            f"{FX_DECIMAL_PLACES} decimal places.",
            code="invalid_exchange_rate",
            fields={field: ["Positive, ≤ 1000000, ≤ 10 decimal places."]},
        )


# --- exchange rates ----------------------------------------------------------------------


def rate_to_program(
    *, currency: str, at: datetime, provider_rate: Decimal | None = None
) -> tuple[Decimal, str] | None:
    """Program-currency units per unit of `currency` at `at`, and where the figure came from:
    the provider's rate (Stripe balance transaction, or `exchange_rate` on the payments API)
    when given, else the admin's table (the row valid at `at`). None when no rate is known:
    the caller waits for one rather than guess."""
    currency = currency.upper()
    if currency == settings.PROGRAM_CURRENCY:
        return Decimal(1), "same currency"
    if provider_rate is not None:
        return Decimal(provider_rate), "provider"
    row = (
        ExchangeRate.objects.filter(currency=currency, valid_from__lte=at)
        .order_by("-valid_from")
        .first()
    )
    if row is None:
        return None
    return row.rate, f"rate table #{row.pk}"


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
    of a rate). A lost enqueue is caught by the every-minute sweeper."""

    def enqueue() -> None:
        from commissions.tasks import process_waiting_payments_task

        try:
            process_waiting_payments_task.delay(currency)
        except Exception:  # broker down: the sweeper runs it within a minute
            logger.warning("Could not enqueue waiting payments for %s", currency, exc_info=True)

    transaction.on_commit(enqueue)


# --- customers ---------------------------------------------------------------------------


def link_stripe_customer(*, stripe_customer_id: str, customer_id: str, how: str) -> None:
    """Remember which product customer a Stripe customer is (first link wins)."""
    if stripe_customer_id and customer_id:
        StripeCustomerLink.objects.get_or_create(
            stripe_customer_id=stripe_customer_id,
            defaults={"customer_id": customer_id, "how": how},
        )


# --- payments ----------------------------------------------------------------------------


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
            else:  # a concurrent run inserted it first: what the memo knows may be stale
                rules.drop_payment_memo(cache)
        if payment.status == Payment.Status.WAITING_FOR_RATE:
            # Stored and answered; its entries come when the rate does (a repeat or a
            # reprocess tries again now, in case the rate has been entered since).
            if payment.program_amount is None and cache is not None:
                cache[_UNCONVERTED] = True
            if recompute or not inserted:
                _finish_waiting(payment=payment, referral=referral, now=now, cache=cache)
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
            _apply_dispute(dispute=dispute, now=now)
        return payment


def _waiting_for(refs: list[str]) -> list[tuple[str, int]]:
    """(kind, pk) of refunds and disputes naming one of `refs` that wait for their payment.
    Plain SQL: it runs for every payment, and the ORM's UNION costs more to build than
    the database takes to answer it."""
    from django.db import connection

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
    reason, blocker = _why_waiting(payment=payment, referral=referral, cache=cache)
    if reason:
        payment.status = Payment.Status.WAITING_FOR_RATE
        payment.status_reason = reason[:255]
        payment.blocked_by = blocker
    if cache is not None:
        # Stage two: a lost race raises IntegrityError here, which rolls back the event's
        # savepoint; events._run_handlers then runs the event once more and finds the row.
        # That spares a savepoint per payment.
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


# --- payments waiting for an exchange rate -----------------------------------------------

# Run-cache key: True once any payment without a program amount may exist (stage two asks
# the database once per run, not once per tiered payment).
_UNCONVERTED = ("payments", "unconverted")


def _why_waiting(
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
        if _UNCONVERTED not in cache:
            cache[_UNCONVERTED] = Payment.objects.filter(program_amount__isnull=True).exists()
        if not cache[_UNCONVERTED]:
            return None
    start, end = rules.previous_month(payment.paid_at)
    for affiliate, _ in rules._earners(referral, payment):
        plan = rules.plan_of(affiliate, cache)
        if affiliate.commission_override_bp is not None or not plan.use_tiers or not plan.pk:
            continue
        if not plan.tiers.all():
            continue
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


def _finish_waiting(
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
    reason, blocker = _why_waiting(payment=payment, referral=referral, cache=cache)
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
        _apply_dispute(dispute=dispute, now=now)
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
        return _finish_waiting(payment=payment, referral=referral, now=now)


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


def find_payment(*, provider: str, ref: str) -> Payment | None:
    """The payment `ref` names (its external id, charge id or payment intent id)."""
    # One index lookup per column, not an OR the planner may answer with a scan of all the
    # provider's payments; plain SQL because the ORM's UNION costs more to build.
    table = Payment._meta.db_table
    sql = " UNION ALL ".join(
        f"SELECT * FROM {table} WHERE provider = %s AND {column} = %s"
        for column in ("external_id", "charge_id", "payment_intent_id")
    )
    rows = list(Payment.objects.raw(f"{sql} LIMIT 1", [provider, ref] * 3))
    return rows[0] if rows else None


def one(qs):  # type: ignore[no-untyped-def]
    """The first row of an unordered queryset, or None (an indexed lookup, no sort)."""
    rows = list(qs.order_by()[:1])
    return rows[0] if rows else None


# --- refunds and disputes ----------------------------------------------------------------


def record_refund(
    *,
    provider: str,
    external_id: str,
    payment_ref: str,
    amount: int,
    currency: str,
    refunded_at: datetime,
    now: datetime,
    reported_at: datetime | None = None,
) -> Refund:
    """Store a refund once per external id; apply it if its payment is known (else it waits
    for the payment, which applies it on arrival).

    A refund reported through the API must fit its known payment: not more than is left of
    it (409 `refund_exceeds_payment`, counting refunds that wait with a payment waiting for
    its rate) and not before it was paid (400 `refund_before_payment`): a billing system
    sending those has a bug we should tell it about. Stripe refunds are facts Stripe has
    already enforced against the charge, and their amounts include the tax our net payment
    amount leaves out, so they are booked as they come, capped at what is left. A refund
    that arrived before its payment was accepted then and is booked, capped, on arrival."""
    check_amount(amount)
    check_moment(refunded_at, now=max(now, reported_at or now), field="refunded_at")
    with transaction.atomic():
        payment = find_payment(provider=provider, ref=payment_ref)
        known = Refund.objects.filter(provider=provider, external_id=external_id).exists()
        if payment is not None and not known and provider == StoredEvent.Provider.API:
            _check_refund_fits(payment_id=payment.pk, amount=amount, refunded_at=refunded_at)
        refund, _ = Refund.objects.get_or_create(
            provider=provider,
            external_id=external_id,
            defaults={
                "payment": payment,
                "payment_ref": payment_ref,
                "amount": amount,
                "currency": (currency or (payment.currency if payment else "")).upper(),
                "refunded_at": refunded_at,
                "created_at": now,
            },
        )
        if refund.payment_id is None and payment is not None:
            Refund.objects.filter(pk=refund.pk, payment__isnull=True).update(payment=payment)
            refund.payment = payment
        if refund.payment_id is not None:
            apply_refund(refund=refund, now=now)
        return refund


def _check_refund_fits(*, payment_id: int, amount: int, refunded_at: datetime) -> None:
    # The row lock makes two concurrent refunds of one payment check one after the other.
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if refunded_at < payment.paid_at:
        raise ServiceError(
            f"The refund ({refunded_at.isoformat()}) predates its payment "
            f"({payment.paid_at.isoformat()}).",
            code="refund_before_payment",
            fields={"refunded_at": ["Before the payment was made."]},
        )
    waiting = (
        Refund.objects.filter(payment=payment, applied_at__isnull=True).aggregate(s=Sum("amount"))[
            "s"
        ]
        or 0
    )
    left = 0 if payment.dispute_state == Payment.DisputeState.LOST else payment.amount
    left = max(0, left - payment.refunded_amount - waiting)
    if amount > left:
        raise Conflict(
            f"The refund of {amount} exceeds the {left} left of payment {payment.external_id}.",
            code="refund_exceeds_payment",
            fields={"amount": [f"At most {left}."]},
        )


def apply_refund(*, refund: Refund, now: datetime) -> bool:
    """Book a refund against its payment's entries, once (compare-and-set on applied_at).
    A payment still waiting for its rate has no entries yet: the refund stays unapplied
    and is booked when they are computed (_finish_waiting)."""
    with transaction.atomic():
        if Payment.objects.filter(
            pk=refund.payment_id, status=Payment.Status.WAITING_FOR_RATE
        ).exists():
            return False
        if not Refund.objects.filter(pk=refund.pk, applied_at__isnull=True).update(applied_at=now):
            return False
        _reverse(
            payment_id=refund.payment_id,
            amount=refund.amount,
            source_type=CommissionEntry.SourceType.REFUND,
            source_id=str(refund.pk),
            label=f"refund {refund.external_id}",
            now=now,
        )
        return True


def record_dispute(
    *,
    provider: str,
    external_id: str,
    payment_ref: str,
    amount: int,
    currency: str,
    status: str,
    at: datetime,
    now: datetime,
) -> Dispute:
    """Store or update a dispute: open freezes the payment's pending entries, lost books a
    full reversal, won releases them."""
    if status not in Dispute.Status.values:
        raise ServiceError(f"Unknown dispute status {status}.", fields={"status": ["Unknown."]})
    if amount:  # a dispute's amount is informational (a loss reverses what is left)
        check_amount(amount)
    with transaction.atomic():
        payment = find_payment(provider=provider, ref=payment_ref)
        dispute, created = Dispute.objects.get_or_create(
            provider=provider,
            external_id=external_id,
            defaults={
                "payment": payment,
                "payment_ref": payment_ref,
                "amount": amount,
                "currency": currency.upper(),
                "status": status,
                "opened_at": at,
                "closed_at": at if status != Dispute.Status.OPEN else None,
                "created_at": now,
            },
        )
        if not created and status != Dispute.Status.OPEN and dispute.status == Dispute.Status.OPEN:
            # Closing moves only forward: a late "created" never reopens a closed dispute.
            Dispute.objects.filter(pk=dispute.pk, status=Dispute.Status.OPEN).update(
                status=status, closed_at=at
            )
            dispute.refresh_from_db()
        if dispute.payment_id is None and payment is not None:
            Dispute.objects.filter(pk=dispute.pk, payment__isnull=True).update(payment=payment)
            dispute.payment = payment
        if dispute.payment_id is not None:
            _apply_dispute(dispute=dispute, now=now)
        return dispute


def _apply_dispute(*, dispute: Dispute, now: datetime) -> None:
    payment_id = dispute.payment_id
    open_elsewhere = Dispute.objects.filter(
        payment_id=payment_id, status=Dispute.Status.OPEN
    ).exists()
    if dispute.status == Dispute.Status.LOST:
        Payment.objects.filter(pk=payment_id).update(dispute_state=Payment.DisputeState.LOST)
        if Payment.objects.filter(pk=payment_id, status=Payment.Status.WAITING_FOR_RATE).exists():
            return  # booked when the payment's entries are computed (_finish_waiting)
        if Dispute.objects.filter(pk=dispute.pk, applied_at__isnull=True).update(applied_at=now):
            payment = Payment.objects.get(pk=payment_id)
            _reverse(
                payment_id=payment_id,
                amount=payment.amount,
                source_type=CommissionEntry.SourceType.DISPUTE,
                source_id=str(dispute.pk),
                label=f"lost dispute {dispute.external_id}",
                now=now,
            )
    elif open_elsewhere:
        Payment.objects.filter(pk=payment_id).exclude(
            dispute_state=Payment.DisputeState.LOST
        ).update(dispute_state=Payment.DisputeState.OPEN)
    else:
        Payment.objects.filter(pk=payment_id).exclude(
            dispute_state=Payment.DisputeState.LOST
        ).update(dispute_state=Payment.DisputeState.WON)


def _reverse(
    *, payment_id: int, amount: int, source_type: str, source_id: str, label: str, now: datetime
) -> None:
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    before = payment.refunded_amount
    after = min(payment.amount, before + amount)
    if after == before:
        return
    Payment.objects.filter(pk=payment.pk).update(refunded_amount=after)
    # Less revenue on the day the payment was paid (marked with the new entries below).
    refunded_day = [(_affiliate_of(payment), rollups.utc_day(payment.paid_at))]
    kept_before, kept = payment.amount - before, payment.amount - after
    live = list(
        CommissionEntry.objects.select_for_update()
        .filter(
            payment=payment,
            kind__in=[Kind.FIRST_PAYMENT, Kind.RECURRING, Kind.PLAN_BONUS],
            amount__gt=0,
        )
        .exclude(state=State.DECLINED)
        .order_by("pk")
    )
    new: list[CommissionEntry] = []
    clawbacks: dict[tuple[int, str], list[CommissionEntry]] = defaultdict(list)
    for entry in live:
        if entry.kind == Kind.PLAN_BONUS:
            if kept == 0 and entry.state == State.PENDING:
                move_entries(
                    entry_ids=[entry.pk],
                    from_state=State.PENDING,
                    to_state=State.DECLINED,
                    now=now,
                    note=f"declined: {label}",
                )
            continue
        if entry.state == State.PENDING:
            move_entries(
                entry_ids=[entry.pk],
                from_state=State.PENDING,
                to_state=State.DECLINED,
                now=now,
                note=f"declined: {label}",
            )
            if kept > 0:
                new.append(
                    CommissionEntry(
                        kind=entry.kind,
                        affiliate_id=entry.affiliate_id,
                        amount=rules.apply_rate(kept, entry.rate_bp or 0),
                        currency=entry.currency,
                        source_type=source_type,
                        source_id=source_id,
                        payment=payment,
                        rule=f"kept share after {label}: {entry.rule}"[:200],
                        rate_bp=entry.rate_bp,
                        base_amount=kept,
                        base_currency=entry.base_currency,
                        fx_rate=entry.fx_rate,
                        approve_after=entry.approve_after,
                        created_at=now,
                    )
                )
        else:
            clawbacks[(entry.affiliate_id, entry.currency)].append(entry)
    for (affiliate_id, currency), entries in clawbacks.items():
        # rate(kept) − rate(kept before): partial refunds telescope to the full amount.
        total = sum(
            rules.apply_rate(kept, e.rate_bp or 0) - rules.apply_rate(kept_before, e.rate_bp or 0)
            for e in entries
        )
        if total >= 0:
            continue
        new.append(
            CommissionEntry(
                kind=Kind.CLAWBACK,
                affiliate_id=affiliate_id,
                amount=total,
                currency=currency,
                source_type=source_type,
                source_id=source_id,
                payment=payment,
                rule=f"clawback after {label} of entries {', '.join(str(e.pk) for e in entries)}"[
                    :200
                ],
                rate_bp=entries[0].rate_bp if len(entries) == 1 else None,
                base_amount=-(kept_before - kept),
                base_currency=payment.currency,
                fx_rate=payment.fx_rate,
                state=State.APPROVED,
                approved_at=now,
                approve_after=now,
                created_at=now,
            )
        )
    insert_entries(entries=[e for e in new if e.amount != 0], money_days=refunded_day)


def _affiliate_of(payment: Payment) -> int | None:
    return (
        Referral.objects.filter(pk=payment.referral_id)
        .values_list("affiliate_id", flat=True)
        .first()
    )


# --- signups and plan changes ------------------------------------------------------------


def record_signup_commission(*, referral_id: int, now: datetime) -> CommissionEntry | None:
    """The signup bounty for a new attribution (idempotent: one per referral)."""
    referral = Referral.objects.select_related("affiliate").filter(pk=referral_id).first()
    if referral is None:
        return None
    entry = rules.signup_entry(referral=referral, now=now)
    if entry is None:
        return None
    insert_entries(entries=[entry])
    return CommissionEntry.objects.get(
        source_type=entry.source_type,
        source_id=entry.source_id,
        kind=entry.kind,
        affiliate_id=entry.affiliate_id,
    )


def write_missing_signup_entries(*, now: datetime, limit: int = 1000) -> int:
    """Sweeper: referrals whose signup task was lost get their bounty now."""
    from django.db.models import CharField
    from django.db.models.functions import Cast

    has_entry = CommissionEntry.objects.filter(
        source_type=CommissionEntry.SourceType.SIGNUP,
        kind=Kind.SIGNUP,
        source_id=Cast(OuterRef("pk"), output_field=CharField()),
    )
    missing = (
        Referral.objects.filter(affiliate__isnull=False)
        .filter(~Exists(has_entry))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    written = 0
    no_default_plan = ""
    for referral_id in list(missing):
        try:
            entry = record_signup_commission(referral_id=referral_id, now=now)
        except rules.NoDefaultPlan as exc:
            # Retried on every sweep until an admin marks a plan default; the others go on.
            no_default_plan = str(exc)
            continue
        if entry is not None:
            written += 1
    if no_default_plan:
        logger.error("Signup bounties wait: %s", no_default_plan)
    return written


def record_plan_change(
    *,
    event_id: str,
    referral: Referral,
    subscription_id: str,
    product_plan: str,
    status: str,
    changed_at: datetime,
) -> None:
    """Record the plan a subscription event reported, once per event id (a repeat is
    ignored by the unique event_id: one INSERT … ON CONFLICT DO NOTHING)."""
    PlanChange.objects.bulk_create(
        [
            PlanChange(
                event_id=event_id,
                referral=referral,
                subscription_id=subscription_id,
                product_plan=product_plan[:120],
                status=status[:32],
                changed_at=changed_at,
            )
        ],
        ignore_conflicts=True,
    )


# --- approval ----------------------------------------------------------------------------


@dataclass
class ApprovalResult:
    approved: int = 0
    declined: int = 0
    batches: int = 0
    more: bool = False
    affiliate_ids: set[int] = field(default_factory=set)


_DUE_SQL = """
UPDATE {entry} SET state = %s, {stamp} = %s{note}
WHERE state = 'pending' AND id IN (
    SELECT e.id FROM {entry} e LEFT JOIN {payment} p ON p.id = e.payment_id
    WHERE e.state = 'pending' AND e.approve_after <= %s AND e.id > %s
      AND (p.id IS NULL OR p.dispute_state <> 'open')
      AND {refunded}(p.id IS NOT NULL AND p.amount > 0 AND p.refunded_amount >= p.amount)
    ORDER BY e.id
    LIMIT %s
)
RETURNING id, affiliate_id
"""


def approve_due_commissions(
    *,
    now: datetime,
    batch_size: int = 10_000,
    max_batches: int | None = None,
    notify: bool = True,
) -> ApprovalResult:
    """Pending entries whose hold ended at or before `now` (a fixed cutoff for the whole
    run) become approved; those whose payment was fully refunded or lost a dispute become
    declined (a safety net: refunds decline at once); those whose payment has an open
    dispute stay pending (frozen).

    Set-based: each batch is one UPDATE … WHERE id IN (the next `batch_size` due ids after
    the last one seen) RETURNING id — no ids travel to Python and back, and the keyset
    keeps each batch off the rows already moved. The outer `state = 'pending'` makes it a
    compare-and-set, so running twice, or twice at once (PostgreSQL re-checks the row after
    the other run's commit), moves each entry once. `max_batches` lets the task stop and
    re-enqueue itself with the same cutoff."""
    from django.db import connection

    result = ApprovalResult()
    tables = {
        "entry": CommissionEntry._meta.db_table,
        "payment": Payment._meta.db_table,
    }
    passes = (
        # (to_state, timestamp column, note, refunded?)
        (State.DECLINED, "declined_at", ", state_note = 'declined: refunded'", ""),
        (State.APPROVED, "approved_at", "", "NOT "),
    )
    for to_state, stamp, note, refunded in passes:
        sql = _DUE_SQL.format(stamp=stamp, note=note, refunded=refunded, **tables)
        last_pk = 0
        while max_batches is None or result.batches < max_batches:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [to_state, now, now, last_pk, batch_size])
                moved = cursor.fetchall()
                if moved and to_state == State.DECLINED:
                    rollups.mark_entry_ids(entry_ids=[row[0] for row in moved])
            if not moved:
                break
            result.batches += 1
            last_pk = max(row[0] for row in moved)
            if to_state == State.APPROVED:
                result.approved += len(moved)
                if notify:
                    result.affiliate_ids.update(row[1] for row in moved)
            else:
                result.declined += len(moved)
        else:
            result.more = True
    if notify and result.affiliate_ids:
        ids_to_notify = sorted(result.affiliate_ids)
        transaction.on_commit(lambda: _notify_approved(affiliate_ids=ids_to_notify))
    return result


def _notify_approved(*, affiliate_ids: list[int]) -> None:
    from affiliates.models import Affiliate
    from config.mail import send_email_on_commit

    emails = Affiliate.objects.filter(pk__in=affiliate_ids).values_list("user__email", flat=True)
    for email in emails:  # one message each: affiliates must not see each other's address
        send_email_on_commit(
            to=[email],
            subject=f"{settings.PROGRAM_NAME}: commissions approved",
            body="Some of your commissions passed their hold and are approved; they will be in "
            f"your next payout. See {settings.AMBASSADOR_URL}/dashboard/",
        )
