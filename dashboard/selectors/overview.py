"""Reads behind the affiliate's overview (/dashboard/): the period's earnings from the ledger,
the plan's rates and tier, and the next payout's date and expected amount.

Each function is a fixed number of aggregate queries whatever the data size (the page's
query count is asserted in tests/dashboard/test_overview_queries.py).

Earnings come from the ledger (CommissionEntry, every state but declined, read through its
daily rollup commissions.LedgerDay), per currency, so the period's figures and the balances
are sums over the same rows and cannot contradict one another. An entry counts on the UTC day it was earned: its payment's `paid_at` for entries
of a payment (its refunds' and disputes' included, as commissions/rollups.py counts them),
a signup bounty on its signup's day, else its `created_at` (adjustments, prizes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, Sum

from affiliates.models import Affiliate, ProductLine
from commissions import ledger_rollups, rules
from commissions.models import CommissionEntry
from config.celery import app as celery_app
from dashboard.selectors.period import Period
from dashboard.selectors.sales import monthly_sales
from payouts.models import PayoutAccount
from payouts.selectors import hold_reason, payout_account

State = CommissionEntry.State
EARNING_STATES: tuple[str, ...] = tuple(CommissionEntry.BALANCE_STATES)

RUN_TASK = "payouts.run_payouts"
APPROVAL_TASK = "commissions.approve_due_commissions"


# --- earnings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Earnings:
    """One currency's entries earned in the period, by their state now (minor units)."""

    currency: str
    pending: int = 0
    approved: int = 0
    in_payout: int = 0
    paid: int = 0
    daily: list[int] = field(default_factory=list)  # one total per day of the period

    @property
    def total(self) -> int:
        return self.pending + self.approved + self.in_payout + self.paid


def period_earnings(*, period: Period, affiliate_id: int) -> list[Earnings]:
    """Per currency (sorted by code), the entries earned in the period by state, and per
    day. Two queries, bounded by the period's days (commissions.ledger_rollups: the daily
    rollup for swept days, the ledger for days with a write not swept yet, today's
    included, so the figures never lag). For "all time" nothing is left out: entries earned
    before the period's first rollup day count on its first day, so the totals equal the
    balances."""
    rows = ledger_rollups.ledger_sums(
        affiliate_id=affiliate_id,
        start=None if period.key == "all" else period.start,
        end=period.end,
        by_day=True,
    )
    index = {day: i for i, day in enumerate(period.each_day())}
    sums: dict[str, dict[str, int]] = {}
    daily: dict[str, list[int]] = {}
    for row in rows:
        if row.state not in EARNING_STATES:
            continue  # declined entries count nowhere
        per = sums.setdefault(row.currency, dict.fromkeys(EARNING_STATES, 0))
        per[row.state] += row.amount
        days = daily.setdefault(row.currency, [0] * period.days)
        # No day: an entry not stamped yet (all time only), written moments ago.
        day = period.end if row.day is None else max(row.day, period.start)
        days[index[day]] += row.amount
    return [Earnings(currency=c, daily=daily[c], **sums[c]) for c in sorted(sums)]


# --- plan, rates and tier -----------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    number: int  # 1-based, lowest bound first
    min_sales: int  # inclusive lower bound, program-currency minor units
    first_payment_bp: int
    recurring_bp: int


@dataclass(frozen=True)
class PlanSummary:
    """What the affiliate earns now. Money in minor units of `currency` (the program's)."""

    name: str
    currency: str
    signup_bounty: int
    first_payment_bp: int  # the rate that applies to a payment made now
    recurring_bp: int
    recurring_months: int | None
    override_bp: int | None  # a fixed rate on every payment replaces plan and tiers
    bonuses: list[tuple[str, int]]
    tiers: list[Tier]
    tier: Tier | None  # the tier that applies this month (None: flat rates)
    last_month: date | None  # first day of the month whose sales chose the tier
    last_month_sales: int
    this_month_sales: int
    next_tier: Tier | None  # the next tier above what this month's sales reach
    left_to_next_tier: int  # sales still needed this month for next_tier next month
    # (line name, first-payment bp or None = the plan's, recurring bp) of the plan's rates per
    # product line, which replace its rates and tiers on that line's payments.
    line_rates: list[tuple[str, int | None, int]] = field(default_factory=list)


def _tier_for(tiers: list[Tier], sales: int) -> Tier:
    chosen = tiers[0]
    for tier in tiers:
        if sales >= tier.min_sales:  # inclusive lower bound, as commissions.rules reads it
            chosen = tier
    return chosen


def plan_summary(*, affiliate: Affiliate, now: datetime) -> PlanSummary | None:
    """The affiliate's plan, its rates now and its tier by last month's sales, by the rules
    commissions.rules applies (payment_rate). None when no plan applies (no default plan).
    At most 5 queries (plan, tiers, bonuses, and monthly_sales' two for both months)."""
    try:
        plan = rules.plan_of(affiliate)
    except rules.NoDefaultPlan:
        return None
    tiers = [
        Tier(n, t.min_sales, t.first_payment_bp, t.recurring_bp)
        for n, t in enumerate(sorted(plan.tiers.all(), key=lambda t: t.min_sales), start=1)
    ]
    bonuses = sorted((b.product_plan, b.amount) for b in plan.bonuses.all())
    line_rates: list[tuple[str, int | None, int]] = []
    own_line_rates = list(plan.line_rates.all()) if plan.pk else []
    if own_line_rates and affiliate.commission_override_bp is None:
        names = dict(
            ProductLine.objects.filter(pk__in=[r.line_id for r in own_line_rates]).values_list(
                "pk", "name"
            )
        )
        line_rates = sorted(
            (names[r.line_id], r.first_payment_bp, r.recurring_bp) for r in own_line_rates
        )
    first_bp, recurring_bp = plan.first_payment_bp, plan.recurring_bp
    tier = next_tier = None
    last_month = None
    last_sales = this_sales = left = 0
    tiered = plan.use_tiers and bool(tiers) and affiliate.commission_override_bp is None
    if tiered:
        # A payment made now is rated by the previous calendar month's sales (UTC).
        # Both months' sales from the tiers' counter (= rules.previous_month_sales).
        last_month, this_month = rules.previous_month(now)[0].date(), rules.month_start(now).date()
        sales = monthly_sales(affiliate_id=affiliate.pk, months=[last_month, this_month])
        last_sales, this_sales = sales[last_month], sales[this_month]
        tier = _tier_for(tiers, last_sales)
        first_bp, recurring_bp = tier.first_payment_bp, tier.recurring_bp
        reached = _tier_for(tiers, this_sales)
        next_tier = next((t for t in tiers if t.min_sales > reached.min_sales), None)
        left = next_tier.min_sales - this_sales if next_tier else 0
    return PlanSummary(
        name=plan.name,
        currency=settings.PROGRAM_CURRENCY,
        signup_bounty=plan.signup_bounty,
        first_payment_bp=first_bp,
        recurring_bp=recurring_bp,
        recurring_months=plan.recurring_months,
        override_bp=affiliate.commission_override_bp,
        bonuses=bonuses,
        tiers=tiers if tiered else [],
        tier=tier,
        last_month=last_month,
        last_month_sales=last_sales,
        this_month_sales=this_sales,
        next_tier=next_tier,
        left_to_next_tier=left,
        line_rates=line_rates,
    )


# --- the next payout ----------------------------------------------------------------------


def _fires(schedule: Any, start: datetime, *, backwards: bool = False) -> Iterator[datetime]:
    """The instants a celery crontab fires, from `start` on (or back from it), UTC, over
    at most 400 days. Schedules that are not crontabs (plain intervals) yield nothing."""
    needed = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
    if not all(hasattr(schedule, name) for name in needed):
        return
    times = sorted(time(h, m, tzinfo=UTC) for h in schedule.hour for m in schedule.minute)
    if backwards:
        times.reverse()
    step = -1 if backwards else 1
    day = start.astimezone(UTC).date()
    for _ in range(400):
        if (
            day.day in schedule.day_of_month
            and day.month in schedule.month_of_year
            and day.isoweekday() % 7 in schedule.day_of_week  # celery: 0 is Sunday
        ):
            for t in times:
                moment = datetime.combine(day, t)
                if (moment <= start) if backwards else (moment > start):
                    yield moment
        day += timedelta(days=step)


def next_payout_run(*, affiliate: Affiliate, now: datetime) -> datetime | None:
    """When the beat schedule (config/celery.py) next runs payouts that include this
    affiliate: the monthly run pays everyone, the two-weekly run only affiliates on that
    frequency. None when no such entry is scheduled."""
    two_weekly = affiliate.payout_frequency == Affiliate.Frequency.TWO_WEEKLY
    candidates: list[datetime] = []
    for entry in celery_app.conf.beat_schedule.values():
        if entry.get("task") != RUN_TASK:
            continue
        if entry.get("kwargs", {}).get("two_weekly_only") and not two_weekly:
            continue
        candidates.extend(m for m in [next(_fires(entry["schedule"], now), None)] if m)
    return min(candidates, default=None)


def approval_cutoff(*, before: datetime) -> datetime:
    """The hold end that the last approval job before `before` approves up to: pending
    entries with approve_after at or before it are approved by the time of a run at
    `before`. Without an approval job in the schedule, `before` itself."""
    for entry in celery_app.conf.beat_schedule.values():
        if entry.get("task") == APPROVAL_TASK:
            last = next(_fires(entry["schedule"], before, backwards=True), None)
            if last is not None:
                return last
    return before


@dataclass(frozen=True)
class CurrencyForecast:
    """One currency's balance for the next run (minor units)."""

    currency: str
    approved: int  # approved now
    clearing: int  # pending now, past its hold before the run (unless refunded first)
    in_payout: int  # in a payout already made, on its way
    threshold: int

    @property
    def expected(self) -> int:
        return self.approved + self.clearing

    @property
    def short_by(self) -> int:
        """How much more is needed to reach the threshold (0 when reached)."""
        return max(self.threshold - self.expected, 0)

    @property
    def reaches_threshold(self) -> bool:
        return self.expected > 0 and self.expected >= self.threshold


@dataclass(frozen=True)
class PayoutForecast:
    run_at: datetime | None
    method: str  # PayoutAccount.Method value
    method_label: str
    needs_method: bool
    hold: str  # why the run would hold this affiliate's payout ("" when it would not)
    threshold: int
    currencies: list[CurrencyForecast]

    @property
    def will_pay(self) -> list[CurrencyForecast]:
        if self.needs_method or self.hold or self.run_at is None:
            return []
        return [c for c in self.currencies if c.reaches_threshold]


def payout_forecast(*, affiliate: Affiliate, now: datetime) -> PayoutForecast:
    """The next payout run's date and what it would pay this affiliate per currency, by the
    rules of payouts.services.runs (approved balance at or over the threshold, not held),
    or what stands in the way. Four queries (the account, the rollup's two, the pending
    entries)."""
    run_at = next_payout_run(affiliate=affiliate, now=now)
    cutoff = approval_cutoff(before=run_at) if run_at else now
    account = payout_account(affiliate=affiliate)
    needs_method = account.method == PayoutAccount.Method.NONE
    # The hold as the run would see it (at run_at: a details-changed hold that ends before
    # the run does not stop it). Without a method, asked about a bare manual account (which
    # has no checks of its own), so a suspension still shows beside "choose a method".
    checked = PayoutAccount(affiliate=affiliate, method=PayoutAccount.Method.MANUAL)
    hold = hold_reason(
        affiliate=affiliate, account=checked if needs_method else account, now=run_at or now
    )
    # Approved and in-payout balances from the ledger's daily rollup (they only grow with
    # history); pending entries live, on entry_pending_clearing (bounded by the hold).
    sums: dict[str, dict[str, int]] = {}
    for found in ledger_rollups.ledger_sums(
        affiliate_id=affiliate.pk, states=[State.APPROVED, State.IN_PAYOUT]
    ):
        per = sums.setdefault(found.currency, {"approved": 0, "clearing": 0, "in_payout": 0})
        per["approved" if found.state == State.APPROVED else "in_payout"] += found.amount
    pending = (
        CommissionEntry.objects.for_affiliate(affiliate.pk)
        .filter(state=State.PENDING)
        .values("currency")
        .annotate(clearing=Sum("amount", filter=Q(approve_after__lte=cutoff)))
        .order_by()
    )
    for row in pending:
        per = sums.setdefault(row["currency"], {"approved": 0, "clearing": 0, "in_payout": 0})
        per["clearing"] += row["clearing"] or 0
    currencies = [
        CurrencyForecast(
            currency=currency,
            approved=per["approved"],
            clearing=per["clearing"],
            in_payout=per["in_payout"],
            threshold=affiliate.payout_threshold,
        )
        for currency, per in sorted(sums.items())
    ]
    return PayoutForecast(
        run_at=run_at,
        method=account.method,
        method_label=account.get_method_display(),
        needs_method=needs_method,
        hold=hold,
        threshold=affiliate.payout_threshold,
        currencies=currencies,
    )
