"""Per-referral summaries (tracking's Referral.stat_* columns): what the dashboard's
referral list shows, sorts and filters on, kept right the way the daily money rollups are.

What a summary holds, for one referral (customer) at `now`:
- **status**, the rule the referral pages state (dashboard.selectors.referrals): a payment
  is *live* when some of it is kept (not fully refunded, its dispute not lost); **paying**:
  a live payment, no cancellation (latest subscription event `canceled` / `unpaid` /
  `incomplete_expired`) at or after the latest live payment, and a live payment within
  PAYING_WINDOW_DAYS or a latest subscription event that says `active`; **churned**: paid
  before but not paying; **signed up**: no payment. A "paying" that rests on the window
  only lapses by time: `paying_until` says when, and the sweeper recomputes it then.
- **plan**: the latest subscription event's plan, else the latest payment's, else the plan
  at signup.
- first payment time, the latest live payment's time.
- **revenue** and **commission**, lifetime, in minor units of the program currency, by
  commissions.rollups' rules: a payment's program amount, or for a refunded one what is
  kept converted at its own rate (a lost dispute refunds it all; a payment still waiting
  for its rate counts 0 until it has one); every entry of the referral's affiliate for its
  payments and its signup bounty but declined ones, converted at its recorded rate. The
  sum over an affiliate's referrals is the sum of its daily rollups (less adjustments and
  other entries tied to no customer).
- the counters' shares (tracking.services.referral_stats): its kept payment days, and its
  **sales per UTC month** as the tiers count them (program amounts before refunds) for its
  affiliate and its employee.

How it stays right: every writer that changes one of those facts (a payment inserted or
given its rate, a refund or lost dispute booked, an entry inserted or declined, a
subscription event recorded) marks the referral due in its own transaction (`mark_*`
below, through tracking.services.mark_referrals_due; tracking marks the customer moved by a
claim and the one an employee is named for itself); the every-minute sweeper
(`refresh_referral_stats`, from commissions.tasks) recomputes the marked ones, and the
"paying" ones whose window ran out, in batches, and clears the marks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from django.utils import timezone

from commissions.models import CommissionEntry, Payment, PlanChange
from commissions.rollups import _in_program_currency
from config.money import convert
from tracking.models import Referral
from tracking.services import (
    ReferralSummary,
    mark_referrals_due,
    refresh_due_referral_stats,
    set_referral_stats,
)
from tracking.services.referral_stats import FIELDS as SUMMARY_COLUMNS

PAYING_WINDOW_DAYS = 35
CANCELLED_STATUSES = ("canceled", "cancelled", "unpaid", "incomplete_expired")
ACTIVE_STATUSES = ("active",)
SIGNED_UP, PAYING, CHURNED = "signed_up", "paying", "churned"
BATCH = 1000

E = CommissionEntry
# The models summaries are read from; the backfill migration passes its historical ones.
MODELS = SimpleNamespace(
    Referral=Referral, Payment=Payment, PlanChange=PlanChange, CommissionEntry=CommissionEntry
)


# --- marking (called by commissions.services inside the writer's transaction) -----------


def mark_referrals(*, referral_ids: Iterable[int | None]) -> None:
    mark_referrals_due(referral_ids=referral_ids)


def mark_entries(*, entries: Iterable[CommissionEntry]) -> None:
    """Entries about to be inserted (their `payment` attached if any)."""
    ids: set[int | None] = set()
    for e in entries:
        if e.payment is not None:
            ids.add(e.payment.referral_id)
        elif e.source_type == E.SourceType.SIGNUP and e.source_id.isdigit():
            ids.add(int(e.source_id))
    if ids:
        mark_referrals_due(referral_ids=ids)


def mark_entry_ids(*, entry_ids: Iterable[int]) -> None:
    """Entries whose state moved in a way that changes the commission (declined)."""
    ids = list(entry_ids)
    referrals: set[int | None] = set()
    for i in range(0, len(ids), BATCH):
        for referral_id, source_type, source_id in E.objects.filter(
            pk__in=ids[i : i + BATCH]
        ).values_list("payment__referral_id", "source_type", "source_id"):
            if referral_id is not None:
                referrals.add(referral_id)
            elif source_type == E.SourceType.SIGNUP and source_id.isdigit():
                referrals.add(int(source_id))
    if referrals:
        mark_referrals_due(referral_ids=referrals)


# --- recomputing ---------------------------------------------------------------------------


def summaries(
    referral_ids: Iterable[int], *, now: datetime, models: Any = MODELS
) -> list[ReferralSummary]:
    """The summaries of these referrals from the payments, subscription events and ledger:
    four queries per BATCH referrals."""
    ids = sorted(set(referral_ids))
    rows: list[ReferralSummary] = []
    for i in range(0, len(ids), BATCH):
        rows += _batch(ids[i : i + BATCH], now=now, m=models)
    return rows


def _batch(ids: list[int], *, now: datetime, m: Any) -> list[ReferralSummary]:
    referrals: dict[int, int | None] = {}
    employees: dict[int, int | None] = {}
    signup_plan: dict[int, str] = {}
    for pk, affiliate_id, employee_id, plan in m.Referral.objects.filter(pk__in=ids).values_list(
        "pk", "affiliate_id", "employee_id", "plan"
    ):
        referrals[pk], employees[pk], signup_plan[pk] = affiliate_id, employee_id, plan
    payments: dict[int, list[tuple]] = defaultdict(list)
    referral_of: dict[int, int] = {}
    for row in (
        m.Payment.objects.filter(referral_id__in=ids)
        .order_by("paid_at", "pk")
        .values_list(
            "pk",
            "referral_id",
            "paid_at",
            "amount",
            "refunded_amount",
            "dispute_state",
            "program_amount",
            "fx_rate",
            "product_plan",
        )
    ):
        payments[row[1]].append(row)
        referral_of[row[0]] = row[1]
    latest: dict[int, tuple] = {}  # referral → (changed_at, pk, status) of its latest event
    latest_plan: dict[int, tuple] = {}  # … of its latest event naming a plan, with the plan
    for referral_id, changed_at, pk, status, plan in m.PlanChange.objects.filter(
        referral_id__in=ids
    ).values_list("referral_id", "changed_at", "pk", "status", "product_plan"):
        if referral_id not in latest or (changed_at, pk) > latest[referral_id][:2]:
            latest[referral_id] = (changed_at, pk, status)
        if plan and (
            referral_id not in latest_plan or (changed_at, pk) > latest_plan[referral_id][:2]
        ):
            latest_plan[referral_id] = (changed_at, pk, plan)
    commission: dict[int, int] = defaultdict(int)
    live = m.CommissionEntry.objects.exclude(state=E.State.DECLINED)
    # Two queries, each on an indexed column of the entry (an OR of both would scan).
    of_payments = live.filter(payment__referral_id__in=ids)
    bounties = live.filter(
        payment__isnull=True, source_type=E.SourceType.SIGNUP, source_id__in=[str(pk) for pk in ids]
    )
    columns = ("affiliate_id", "payment_id", "source_id", "amount", "currency", "fx_rate")
    for affiliate_id, payment_id, source_id, amount, currency, fx_rate in [
        *of_payments.values_list(*columns),
        *bounties.values_list(*columns),
    ]:
        owner = referral_of.get(payment_id) if payment_id is not None else int(source_id)
        # The customer's commission is its affiliate's (an employee's share is its own).
        if owner is not None and referrals.get(owner) == affiliate_id:
            commission[owner] += _in_program_currency(amount, currency, fx_rate)
    return [
        _summary(
            pk,
            payments=payments.get(pk, []),
            latest=latest.get(pk),
            latest_plan=latest_plan.get(pk),
            signup_plan=signup_plan.get(pk) or "",
            commission=commission.get(pk, 0),
            now=now,
            affiliate_id=referrals[pk],
            employee_id=employees[pk],
        )
        for pk in ids
        if pk in referrals
    ]


def _summary(
    pk: int,
    *,
    payments: list[tuple],
    latest: tuple | None,
    latest_plan: tuple | None,
    signup_plan: str,
    commission: int,
    now: datetime,
    affiliate_id: int | None = None,
    employee_id: int | None = None,
) -> ReferralSummary:
    revenue = 0
    last_live = None
    kept: set[date] = set()  # UTC days of the live (kept) payments
    # The tiers' sales per UTC month (commissions.rules.previous_month_sales): before
    # refunds, 0 while a payment waits for its rate.
    sales: dict[date, int] = defaultdict(int)
    plan = signup_plan
    for _, _, paid_at, amount, refunded, dispute_state, program_amount, fx_rate, pplan in payments:
        sales[paid_at.astimezone(UTC).date().replace(day=1)] += program_amount or 0
        if refunded > 0 and fx_rate is not None:
            revenue += convert(max(amount - refunded, 0), fx_rate)
        elif refunded == 0:
            revenue += program_amount or 0  # none yet while it waits for its rate
        if amount > refunded and dispute_state != Payment.DisputeState.LOST:
            last_live = paid_at  # payments come in paid_at order
            kept.add(paid_at.astimezone(UTC).date())
        if pplan:
            plan = pplan
    if latest_plan is not None:
        plan = latest_plan[2]
    status, until = SIGNED_UP, None
    if payments:
        status = CHURNED
        latest_status = latest[2] if latest is not None else None
        not_cancelled = (
            latest is None
            or latest_status not in CANCELLED_STATUSES
            or (last_live is not None and latest[0] < last_live)
        )
        active = latest_status in ACTIVE_STATUSES
        if last_live is not None and not_cancelled:
            window_end = last_live + timedelta(days=PAYING_WINDOW_DAYS)
            if active or now <= window_end:
                status, until = PAYING, (None if active else window_end)
    return ReferralSummary(
        referral_id=pk,
        status=status,
        plan=plan[:120],
        first_paid_at=payments[0][2] if payments else None,
        last_paid_at=last_live,
        paying_until=until,
        revenue=revenue,
        commission=commission,
        affiliate_id=affiliate_id,
        kept_days=tuple(sorted(kept)),
        employee_id=employee_id,
        monthly_sales=tuple(sorted(sales.items())),
    )


def refresh_referral_stats(
    *, now: datetime | None = None, limit: int = 1000, max_runs: int = 20
) -> int:
    """The sweeper's step: recompute the marked referrals (and lapsed "paying" ones),
    `limit` per transaction, at most `max_runs` transactions (the rest wait for the next
    sweep). Returns the referrals written."""
    at = now or timezone.now()
    written = 0
    for _ in range(max_runs):
        count, more = refresh_due_referral_stats(
            compute=lambda ids: summaries(ids, now=at), now=at, limit=limit
        )
        written += count
        if not more:
            break
    return written


def backfill(*, now: datetime, models: Any = MODELS, batch: int = BATCH) -> int:
    """Every referral's summary, `batch` at a time in id order (the data migration, with
    its historical models; the bench after its bulk insert). With today's models it writes
    through tracking.services.set_referral_stats, so the customer counters follow; the
    historical models of migration 0011_backfill_referral_summaries predate them (and
    Referral.stat_kept), so that path writes the summary columns only and tracking's
    migration 0012 marks the referrals for the sweeper to add their shares. Returns
    referrals written."""
    written, last = 0, 0
    while True:
        ids = list(
            models.Referral.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return written
        if models is MODELS:
            written += set_referral_stats(rows=_batch(ids, now=now, m=models))
            last = ids[-1]
            continue
        objs = []
        for row in _batch(ids, now=now, m=models):
            obj = models.Referral(pk=row.referral_id)
            for column, attr in SUMMARY_COLUMNS.items():
                setattr(obj, column, getattr(row, attr))
            objs.append(obj)
        models.Referral.objects.bulk_update(objs, fields=list(SUMMARY_COLUMNS), batch_size=500)
        written += len(objs)
        last = ids[-1]
