"""Reads of payments, exchange rates and the ledger, shared by the services, the API, the
dashboard and check_ledger (payouts' command, which adds its own checks: commissions never
imports payouts).

Entry reads start from `CommissionEntry.objects`, whose QuerySet (commissions.querysets) has
the chainable filters and the append-only guard, so nothing read here can be bulk-changed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Count, Sum

from commissions.models import CommissionEntry, Dispute, ExchangeRate, Payment, Refund
from commissions.querysets import CommissionEntryQuerySet
from tracking.models import Referral

State = CommissionEntry.State
BALANCE_STATES = CommissionEntry.BALANCE_STATES

_M = TypeVar("_M", bound=models.Model)


def one(qs: models.QuerySet[_M]) -> _M | None:
    """The first row of an unordered queryset, or None (an indexed lookup, no sort).
    Not .first(): its ORDER BY pk can make the planner walk the pk index instead of the
    unique index the filter names."""
    rows = list(qs.order_by()[:1])
    return rows[0] if rows else None


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


def list_entries(
    *, affiliate_id: int, state: str | None = None, kind: str | None = None
) -> CommissionEntryQuerySet:
    qs: CommissionEntryQuerySet = CommissionEntry.objects.for_affiliate(affiliate_id)
    if state:
        qs = qs.filter(state=state)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-created_at", "-pk")


def balances_for(*, affiliate_id: int) -> dict[str, dict[str, int]]:
    """{currency: {pending, approved, in_payout, paid}} in minor units, summed from the
    entries (declined ones count nowhere). Balances may be negative after clawbacks."""
    out: dict[str, dict[str, int]] = {}
    rows = (
        CommissionEntry.objects.for_affiliate(affiliate_id)
        .in_balance()
        .values("currency", "state")
        .annotate(total=Sum("amount"))
    )
    for row in rows:
        per = out.setdefault(row["currency"], {s: 0 for s in BALANCE_STATES})
        per[row["state"]] = row["total"] or 0
    return out


def ledger_violations(*, now: datetime) -> list[str]:
    """Every broken invariant of payments and the ledger, in words (empty when they are
    sound). The check_ledger command (in payouts, which sees both apps) adds payouts'."""
    problems: list[str] = []
    E = CommissionEntry

    # 1. No duplicate (source, kind, affiliate) (the unique constraint; checked anyway).
    dupes = (
        E.objects.values("source_type", "source_id", "kind", "affiliate_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    for d in dupes:
        problems.append(
            f"duplicate entries for {d['source_type']} {d['source_id']} {d['kind']} "
            f"affiliate {d['affiliate_id']} ({d['n']} rows)"
        )

    # 2. Every entry names an existing source.
    sources = {
        E.SourceType.PAYMENT: Payment,
        E.SourceType.REFUND: Refund,
        E.SourceType.DISPUTE: Dispute,
        E.SourceType.SIGNUP: Referral,
    }
    for source_type, model in sources.items():
        ids = set(E.objects.filter(source_type=source_type).values_list("source_id", flat=True))
        if not ids:
            continue
        numeric = {i for i in ids if i.isdigit()}
        found = {
            str(pk)
            for pk in model._default_manager.filter(pk__in=numeric).values_list("pk", flat=True)
        }
        for missing in sorted(ids - found):
            problems.append(f"entries cite {source_type} {missing}, which does not exist")
    orphan = E.objects.filter(
        source_type__in=[E.SourceType.PAYMENT, E.SourceType.REFUND, E.SourceType.DISPUTE],
        payment__isnull=True,
    ).count()
    if orphan:
        problems.append(f"{orphan} payment/refund/dispute entries have no payment")

    # 3. Approved (and later) entries are past their hold.
    early = E.objects.filter(
        state__in=[State.APPROVED, State.IN_PAYOUT, State.PAID],
        approved_at__lt=models.F("approve_after"),
    ).exclude(kind=E.Kind.CLAWBACK)
    for pk in early.values_list("pk", flat=True)[:100]:
        problems.append(f"entry {pk} was approved before its hold ended")

    # 4. Sign and state sanity: clawbacks negative, nothing else negative; a state has
    #    its timestamp.
    for pk in E.objects.filter(kind=E.Kind.CLAWBACK, amount__gte=0).values_list("pk", flat=True)[
        :100
    ]:
        problems.append(f"clawback entry {pk} is not negative")
    for pk in (
        E.objects.exclude(kind__in=[E.Kind.CLAWBACK, E.Kind.ADJUSTMENT])
        .filter(amount__lt=0)
        .values_list("pk", flat=True)[:100]
    ):
        problems.append(f"entry {pk} of a positive kind is negative")
    for state, stamp in E.STATE_TIMESTAMPS.items():
        n = E.objects.filter(state=state, **{f"{stamp}__isnull": True}).count()
        if n:
            problems.append(f"{n} {state} entries lack {stamp}")

    # 5. A payment's entries never claw back more than they paid (per affiliate, currency).
    net = (
        E.objects.filter(payment__isnull=False)
        .exclude(state=State.DECLINED)
        .values("payment_id", "affiliate_id", "currency")
        .annotate(total=Sum("amount"))
        .filter(total__lt=0)
    )
    for row in net:
        problems.append(
            f"payment {row['payment_id']}: affiliate {row['affiliate_id']} nets "
            f"{row['total']} {row['currency']} (clawed back more than earned)"
        )

    # 6. Payments: refunds never exceed the amount.
    for pk in Payment.objects.filter(refunded_amount__gt=models.F("amount")).values_list(
        "pk", flat=True
    ):
        problems.append(f"payment {pk} is refunded above its amount")

    # 7. Balances are never stored, only summed (balances_for); check that the per-affiliate
    #    figures the API shows add up to the program-wide sums of the entries.
    program: dict[tuple[str, str], int] = {}
    for sums in E.objects.in_balance().values("currency", "state").annotate(total=Sum("amount")):
        program[(sums["currency"], sums["state"])] = sums["total"] or 0
    shown: dict[tuple[str, str], int] = {}
    for affiliate_id in E.objects.values_list("affiliate_id", flat=True).distinct():
        for currency, per in balances_for(affiliate_id=affiliate_id).items():
            for state, total in per.items():
                shown[(currency, state)] = shown.get((currency, state), 0) + total
    for key in sorted(set(program) | set(shown)):
        if program.get(key, 0) != shown.get(key, 0):
            problems.append(
                f"{key[1]} {key[0]} balances sum to {shown.get(key, 0)} but entries to "
                f"{program.get(key, 0)}"
            )
    return problems
