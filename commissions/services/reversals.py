"""Refunds and disputes: store them once per external id and book them against the
payment's entries (`_reverse`, the one place a payment's commission is taken back).

Refund policy (partial refunds): while a payment's entries are pending, a refund declines
them and, if part of the payment is kept, writes a new pending entry for the kept share
(same kind, rate and hold end; source = the refund). After approval (or payout) a refund
adds a negative `clawback` entry, approved at once and netted in the next payout; its
amount is rate(kept after) − rate(kept before), so successive partial refunds add up to
exactly the entry's amount when everything is refunded. A lost dispute is booked as a
refund of whatever is left. Plan bonuses are declined on a full refund while pending and
are not clawed back after approval (their own long hold is the protection).

A refund or lost dispute of a payment still waiting for its exchange rate is stored and
linked at once, and booked when the payment's entries are computed
(commissions.services.fx.finish_waiting).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.db.models import Sum

from commissions import referral_stats, rollups
from commissions.models import CommissionEntry, Dispute, Payment, Refund, StoredEvent
from commissions.selectors import find_payment
from commissions.services.bounds import check_amount, check_moment
from commissions.services.ledger import insert_entries, move_entries
from config import queue
from config.errors import Conflict, ServiceError
from config.money import apply_rate
from tracking.models import Referral

State = CommissionEntry.State
Kind = CommissionEntry.Kind


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
    and is booked when they are computed (finish_waiting); so does one without its payment
    (record_payment books it on arrival)."""
    payment_id = refund.payment_id
    if payment_id is None:
        return False
    with transaction.atomic():
        if Payment.objects.filter(pk=payment_id, status=Payment.Status.WAITING_FOR_RATE).exists():
            return False
        if not Refund.objects.filter(pk=refund.pk, applied_at__isnull=True).update(applied_at=now):
            return False
        _reverse(
            payment_id=payment_id,
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
        changed = created
        if not created and status != Dispute.Status.OPEN and dispute.status == Dispute.Status.OPEN:
            # Closing moves only forward: a late "created" never reopens a closed dispute.
            changed = bool(
                Dispute.objects.filter(pk=dispute.pk, status=Dispute.Status.OPEN).update(
                    status=status, closed_at=at
                )
            )
            dispute.refresh_from_db()
        if changed:  # opened or closed now (once: a redelivered event changes nothing)
            queue.enqueue_on_commit("emails.notify_dispute", dispute_id=dispute.pk)
        if dispute.payment_id is None and payment is not None:
            Dispute.objects.filter(pk=dispute.pk, payment__isnull=True).update(payment=payment)
            dispute.payment = payment
        if dispute.payment_id is not None:
            apply_dispute(dispute=dispute, now=now)
        return dispute


def apply_dispute(*, dispute: Dispute, now: datetime) -> None:
    """Carry a linked dispute's status to its payment: a loss books a full reversal, once
    (compare-and-set on applied_at; a payment waiting for its rate books it when computed);
    otherwise the payment is open while any of its disputes is, else won. A dispute
    without its payment waits for it (record_payment applies it on arrival)."""
    payment_id = dispute.payment_id
    if payment_id is None:
        return
    open_elsewhere = Dispute.objects.filter(
        payment_id=payment_id, status=Dispute.Status.OPEN
    ).exists()
    if dispute.status == Dispute.Status.LOST:
        Payment.objects.filter(pk=payment_id).update(dispute_state=Payment.DisputeState.LOST)
        if Payment.objects.filter(pk=payment_id, status=Payment.Status.WAITING_FOR_RATE).exists():
            return  # booked when the payment's entries are computed (finish_waiting)
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
    referral_stats.mark_referrals(referral_ids=[payment.referral_id])
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
                        amount=apply_rate(kept, entry.rate_bp or 0),
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
            apply_rate(kept, e.rate_bp or 0) - apply_rate(kept_before, e.rate_bp or 0)
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
