"""Commission rules: which entries a payment earns, by the plan of each credited affiliate.

Pure reads and arithmetic; commissions.services writes what this returns. Rates are fixed
when an entry is written, so changing a plan affects only payments processed afterwards.

Tiers (PlanTier.min_sales is an inclusive lower bound in program-currency minor units). With
the default plan's bounds 0, 50000 and 100001:
    previous-month sales <  $500.00                 → tier 1 (50 % first / 20 % recurring)
    $500.00 ≤ sales ≤ $1,000.00 (50000…100000)      → tier 2 (60 % / 25 %)
    sales ≥ $1,000.01 (100001…)                     → tier 3 (70 % / 30 %)
"Sales" are the affiliate's referred customers' payments (net of tax, before refunds) in
the previous calendar month (UTC) of the payment, in the program currency at each
payment's recorded rate.

Product lines (Kinsta: 10 % recurring on WordPress, 5 % on application hosting): a plan's
PlanLineRate replaces its rate, and its tier's, for a payment whose product plan is in the
line (affiliates.models.ProductLine); the tiers rate the payments outside every line. A blank
first-payment line rate leaves first payments to the plan (or its tier); an affiliate's own
override wins over everything. Each payment is rated on its own, so a customer with
subscriptions in several lines earns each line's rate on that line's payments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q, Sum

from affiliates.models import Affiliate, Plan, ProductLine
from commissions.models import CommissionEntry, Payment
from config.errors import ServiceError
from config.money import apply_rate, convert
from tracking.models import Referral

Kind = CommissionEntry.Kind


# What the rules read of a plan, in one query each.
PLAN_PREFETCH = ("tiers", "bonuses", "line_rates")


def hold() -> timedelta:
    # "30 days" is 30 × 24 h on UTC instants. UTC has no DST, so this is exactly 30 calendar
    # days in UTC (a local-time calendar would make some holds 23 or 25 hours off).
    return timedelta(days=settings.COMMISSION_HOLD_DAYS)


def add_months(moment: datetime, months: int) -> datetime:
    """Same day-of-month `months` later in UTC, clamped to the month's last day."""
    moment = moment.astimezone(UTC)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def previous_month(moment: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the calendar month (UTC) before the one `moment` is in."""
    this_start = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return add_months(this_start, -1), this_start


class NoDefaultPlan(ServiceError):
    """No plan is marked default, so an affiliate without its own plan has nothing to be
    paid by. Raised instead of guessing figures: stage two keeps the event unprocessed with
    this message (retried once an admin marks a plan default), the signup sweeper retries."""

    status = 409
    code = "no_default_plan"


def default_plan() -> Plan:
    """The plan of every affiliate without one of its own. The data migration
    commissions.0004_default_plan creates it on install, and the admin refuses to delete it
    or to untick "default" (another plan takes the flag only through the "Make default"
    action, in one transaction). Should it still be missing (removed in the shell or SQL),
    there is no silent unsaved fallback: paying someone by figures nobody can see or edit
    is worse than a payment that waits, loudly, for an admin."""
    plan = Plan.objects.filter(is_default=True).prefetch_related(*PLAN_PREFETCH).first()
    if plan is None:
        raise NoDefaultPlan(
            "No commission plan is marked default; mark one default in admin "
            "(Commission plans → Make default).",
        )
    return plan


def employee_default_plan() -> Plan:
    """The plan of every employee without one of its own: DESIGN.md's 10 % of the customer's
    payments for 12 months, created on install by commissions.0016_employee_plan (editable in
    admin). Without such a plan (removed by an admin), employees are paid by the default plan
    like everyone else."""
    plan = Plan.objects.filter(is_employee_default=True).prefetch_related(*PLAN_PREFETCH).first()
    return plan if plan is not None else default_plan()


def plan_of(affiliate: Affiliate, cache: dict | None = None) -> Plan:
    key = ("plan", affiliate.plan_id)
    if cache is not None and key in cache:
        return cache[key]
    if affiliate.plan_id is None and affiliate.is_employee:
        plan = employee_default_plan()
    elif affiliate.plan_id is None:
        plan = default_plan()
    else:
        plan = Plan.objects.prefetch_related(*PLAN_PREFETCH).get(pk=affiliate.plan_id)
    if cache is not None:
        cache[key] = plan
    return plan


def not_earning_reason(affiliate: Affiliate, cache: dict | None = None) -> str:
    """Why `affiliate` earns nothing new right now ('' when it earns).

    A suspended affiliate (any status but approved) or one whose user is deactivated still
    gets its entries written, but declined with this reason, so the ledger shows what was
    not paid and why, and nothing about the customer's history is lost. The status is read
    when the entry is written (stage two's `now`), fresh from the database, not from the
    referral's cached affiliate. An entry declined this way stays declined: a declined
    entry never moves again (CommissionEntry.TRANSITIONS), and reprocessing after
    reinstatement finds the row already written (one per source, kind, affiliate), so
    payments processed while suspended are never paid later; payments processed after
    reinstatement earn as usual. Entries that were already pending or approved before the
    suspension are left as they are (payouts are held elsewhere)."""
    key = ("not_earning", affiliate.pk)
    if cache is not None and key in cache:
        return cache[key]
    row = Affiliate.objects.filter(pk=affiliate.pk).values_list("status", "user__is_active").first()
    status, active = row if row is not None else (affiliate.status, True)
    if status != Affiliate.Status.APPROVED:
        reason = f"affiliate {status}"
    elif not active:
        reason = "affiliate's user account is deactivated"
    else:
        reason = ""
    if cache is not None:
        cache[key] = reason
    return reason


def _declined_if_not_earning(
    entry: CommissionEntry, affiliate: Affiliate, now: datetime, cache: dict | None
) -> CommissionEntry:
    reason = not_earning_reason(affiliate, cache)
    if reason:
        entry.state = CommissionEntry.State.DECLINED
        entry.declined_at = now
        entry.state_note = f"declined: {reason}"[:200]
    return entry


def month_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def previous_month_sales(*, affiliate_id: int, moment: datetime, cache: dict | None = None) -> int:
    start, end = previous_month(moment)
    memo = payment_memo(cache)
    if memo is not None and (affiliate_id, start) in memo.sales:
        return memo.sales[(affiliate_id, start)]
    total = (
        Payment.objects.filter(
            Q(referral__affiliate_id=affiliate_id) | Q(referral__employee_id=affiliate_id),
            paid_at__gte=start,
            paid_at__lt=end,
        ).aggregate(total=Sum("program_amount"))["total"]
        or 0
    )
    if memo is not None:
        memo.sales[(affiliate_id, start)] = total
    return total


# --- stage two's per-batch memo of payments ----------------------------------------------
#
# For each new payment the rules read the customer's earlier payments (first or recurring,
# one-time plan bonus, recurring months) and each earner's previous-month sales (tiers).
# Stage two loads those for a whole batch of events in a few queries (events.
# _prefetch_payments) and keeps them current in memory as it records payments
# (remember_payment), so a payment costs no reads. The memo lives for one batch (one
# transaction): a concurrent run's payments are seen from the next batch on, as before
# they were seen from its commit on. Anything the memo lacks is read from the database
# and then kept; a handler that fails after recording a payment drops the memo (its
# savepoint rolled the payment back). Without a memo (cache None) every read is a query.


@dataclass
class KnownPayment:
    pk: int
    paid_at: datetime
    external_id: str
    product_plan: str


@dataclass
class PaymentMemo:
    # (affiliate id, month start UTC) → sales in program-currency minor units, as
    # previous_month_sales sums them.
    sales: dict[tuple[int, datetime], int] = field(default_factory=dict)
    # referral id → every payment of that customer.
    by_referral: dict[int, list[KnownPayment]] = field(default_factory=dict)
    # (provider, external id) → the stored payment, or None when there is none.
    existing: dict[tuple[str, str], Payment | None] = field(default_factory=dict)
    # Bumped by every payment recorded, so a failed handler knows the memo moved.
    version: int = 0


_MEMO_KEY = "payments"


def payment_memo(cache: dict | None) -> PaymentMemo | None:
    return cache.get(_MEMO_KEY) if cache is not None else None


def start_payment_memo(cache: dict) -> PaymentMemo:
    memo = cache[_MEMO_KEY] = PaymentMemo()
    return memo


def drop_payment_memo(cache: dict | None) -> None:
    if cache is not None:
        cache.pop(_MEMO_KEY, None)


def known_payments(referral_id: int, cache: dict | None) -> list[KnownPayment] | None:
    """Every payment of the customer (memo, else one query that is then kept), or None
    without a memo."""
    memo = payment_memo(cache)
    if memo is None:
        return None
    known = memo.by_referral.get(referral_id)
    if known is None:
        known = memo.by_referral[referral_id] = [
            KnownPayment(*row)
            for row in Payment.objects.filter(referral_id=referral_id).values_list(
                "pk", "paid_at", "external_id", "product_plan"
            )
        ]
    return known


def remember_payment(*, payment: Payment, referral: Referral, cache: dict | None) -> None:
    """Keep the memo current after `payment` was inserted in this transaction."""
    memo = payment_memo(cache)
    if memo is None:
        return
    memo.version += 1
    memo.existing[(payment.provider, payment.external_id)] = payment
    month = month_start(payment.paid_at)
    # previous_month_sales counts a payment once for its referral's affiliate and once
    # for its employee (once when they are the same).
    for affiliate_id in {referral.affiliate_id, referral.employee_id} - {None}:
        key = (affiliate_id, month)
        if key in memo.sales:
            memo.sales[key] += payment.program_amount or 0  # None: waiting for its rate
    known = memo.by_referral.get(referral.pk)
    if known is not None:
        known.append(
            KnownPayment(payment.pk, payment.paid_at, payment.external_id, payment.product_plan)
        )


def has_earlier_payment(
    *, referral: Referral, paid_at: datetime, external_id: str, cache: dict | None = None
) -> bool:
    """Whether the customer paid before (paid_at, then external id breaking a tie): the
    payment is then not its first."""
    known = known_payments(referral.pk, cache)
    # A tie on paid_at is ordered by the database's collation: leave those to it.
    if known is not None and not any(p.paid_at == paid_at for p in known):
        return any(p.paid_at < paid_at for p in known)
    return (
        Payment.objects.filter(referral=referral)
        .filter(Q(paid_at__lt=paid_at) | Q(paid_at=paid_at, external_id__lt=external_id))
        .exists()
    )


@dataclass(frozen=True)
class Rate:
    bp: int
    rule: str


def product_line_of(product_plan: str, cache: dict | None = None) -> ProductLine | None:
    """The product line a product plan is in: the most specific match among every line
    (an exact name over a prefix, a longer prefix over a shorter; on a tie the line whose
    name sorts first), or None. A payment is in one line at most, so a plan without a rate
    for that line rates it by its own figures, never by another line's rate."""
    if not product_plan:
        return None
    key = ("product_lines",)
    lines = cache.get(key) if cache is not None else None
    if lines is None:
        # Sorted here, not by the database's collation: the same tie-break on every backend.
        lines = sorted(ProductLine.objects.all(), key=lambda line: (line.name, line.pk))
        if cache is not None:
            cache[key] = lines
    chosen: ProductLine | None = None
    best: tuple[int, int] | None = None
    for line in lines:  # by name, so the first of equally specific lines is kept
        score = line.specificity(product_plan)
        if score is not None and (best is None or score > best):
            best, chosen = score, line
    return chosen


def line_bp(plan: Plan, payment: Payment, cache: dict | None = None) -> tuple[int, str] | None:
    """(basis points, line name) when the plan has its own rate for the payment's product
    line (affiliates.models.PlanLineRate); None leaves the payment to the plan's rates."""
    if not plan.pk or not payment.product_plan:
        return None
    line_rates = plan.line_rates.all()
    if not line_rates:
        return None  # most plans: no read of the lines at all
    line = product_line_of(payment.product_plan, cache)
    if line is None:
        return None
    line_rate = next((r for r in line_rates if r.line_id == line.pk), None)
    if line_rate is None:
        return None
    bp = line_rate.first_payment_bp if payment.is_first else line_rate.recurring_bp
    return None if bp is None else (bp, line.name)


def payment_rate(
    *, affiliate: Affiliate, plan: Plan, payment: Payment, cache: dict | None = None
) -> Rate:
    kind_word = "first payment" if payment.is_first else "recurring payment"
    if affiliate.commission_override_bp is not None:
        return Rate(affiliate.commission_override_bp, f"affiliate override: {kind_word}")
    by_line = line_bp(plan, payment, cache)
    if by_line is not None:
        bp, line_name = by_line
        return Rate(bp, f"{plan.name}, {line_name} line: {kind_word}")
    tiers = sorted(plan.tiers.all(), key=lambda t: t.min_sales)
    if plan.use_tiers and tiers:
        sales = previous_month_sales(affiliate_id=affiliate.pk, moment=payment.paid_at, cache=cache)
        chosen = tiers[0]
        for tier in tiers:
            if sales >= tier.min_sales:  # inclusive lower bound
                chosen = tier
        bp = chosen.first_payment_bp if payment.is_first else chosen.recurring_bp
        return Rate(
            bp,
            f"{plan.name}: tier ≥ {chosen.min_sales} (last month {sales} "
            f"{settings.PROGRAM_CURRENCY}): {kind_word}",
        )
    bp = plan.first_payment_bp if payment.is_first else plan.recurring_bp
    return Rate(bp, f"{plan.name}: {kind_word}")


def earners(referral: Referral, payment: Payment) -> list[tuple[Affiliate, datetime | None]]:
    """Who earns from this customer's payment, with the instant its recurring months count
    from (None: from the customer's first payment)."""
    earners: list[tuple[Affiliate, datetime | None]] = []
    if referral.affiliate_id is not None:
        earners.append((referral.affiliate, None))
    if (
        referral.employee_id is not None
        and referral.employee_id != referral.affiliate_id
        and referral.employee_at is not None
        and referral.employee_at <= payment.paid_at
    ):
        # The employee named at upgrade earns by its own plan from that moment on.
        earners.append((referral.employee, referral.employee_at))
    return earners


def entries_for_payment(
    *, payment: Payment, referral: Referral, now: datetime, cache: dict | None = None
) -> list[CommissionEntry]:
    """The entries `payment` earns (unsaved). Deterministic given the stored payments and
    plans, so reprocessing computes the same rows."""
    entries: list[CommissionEntry] = []
    first_paid_at = None
    for affiliate, months_from in earners(referral, payment):
        plan = plan_of(affiliate, cache)
        if not payment.is_first and plan.recurring_months is not None:
            if months_from is None:
                if first_paid_at is None:
                    known = known_payments(referral.pk, cache)
                    if known:
                        first_paid_at = min(p.paid_at for p in known)
                    else:
                        first_paid_at = (
                            Payment.objects.filter(referral=referral)
                            .order_by("paid_at")
                            .values_list("paid_at", flat=True)
                            .first()
                        ) or payment.paid_at
                months_from = first_paid_at
            if payment.paid_at >= add_months(months_from, plan.recurring_months):
                continue  # past the plan's N months of recurring commission
        rate = payment_rate(affiliate=affiliate, plan=plan, payment=payment, cache=cache)
        amount = apply_rate(payment.amount, rate.bp)
        if amount > 0:
            entries.append(
                CommissionEntry(
                    kind=Kind.FIRST_PAYMENT if payment.is_first else Kind.RECURRING,
                    affiliate=affiliate,
                    amount=amount,
                    currency=payment.currency,
                    source_type=CommissionEntry.SourceType.PAYMENT,
                    source_id=str(payment.pk),
                    payment=payment,
                    rule=rate.rule[:200],
                    rate_bp=rate.bp,
                    base_amount=payment.amount,
                    base_currency=payment.currency,
                    fx_rate=payment.fx_rate,
                    approve_after=payment.paid_at + hold(),
                    created_at=now,
                )
            )
        bonus = _plan_bonus(plan=plan, payment=payment, referral=referral, cache=cache)
        if bonus is not None:
            entries.append(
                CommissionEntry(
                    kind=Kind.PLAN_BONUS,
                    affiliate=affiliate,
                    # Bonuses are program-currency figures and are paid in it.
                    amount=bonus.amount,
                    currency=settings.PROGRAM_CURRENCY,
                    source_type=CommissionEntry.SourceType.PAYMENT,
                    source_id=str(payment.pk),
                    payment=payment,
                    rule=f"{plan.name}: {bonus.product_plan} bonus, {bonus.hold_days}-day hold",
                    base_amount=convert(payment.amount, payment.fx_rate),
                    base_currency=settings.PROGRAM_CURRENCY,
                    fx_rate=payment.fx_rate,
                    # Own hold: hold_days × 24 h on UTC instants (= calendar days in UTC).
                    approve_after=payment.paid_at + timedelta(days=bonus.hold_days),
                    created_at=now,
                )
            )
    # A suspended or deactivated earner's entries are written, declined with the reason.
    return [_declined_if_not_earning(e, e.affiliate, now, cache) for e in entries]


def _plan_bonus(  # -> PlanBonus | None
    *, plan: Plan, payment: Payment, referral: Referral, cache: dict | None = None
):
    if not payment.product_plan:
        return None
    bonus = next(
        (
            b
            for b in plan.bonuses.all()
            if b.product_plan.lower() == payment.product_plan.lower() and b.amount > 0
        ),
        None,
    )
    if bonus is None:
        return None
    # One-time: only the customer's first payment on that product plan earns it.
    known = known_payments(referral.pk, cache)
    wanted = payment.product_plan
    if known is not None and wanted.isascii() and all(p.product_plan.isascii() for p in known):
        # ASCII only: there Python's upper() is the database's UPPER() (iexact).
        earlier = any(
            p.product_plan.upper() == wanted.upper()
            and (
                p.paid_at < payment.paid_at or (p.paid_at == payment.paid_at and p.pk < payment.pk)
            )
            for p in known
        )
        return None if earlier else bonus
    earlier = (
        Payment.objects.filter(referral=referral, product_plan__iexact=payment.product_plan)
        .filter(Q(paid_at__lt=payment.paid_at) | Q(paid_at=payment.paid_at, pk__lt=payment.pk))
        .exists()
    )
    return None if earlier else bonus


def signup_entry(*, referral: Referral, now: datetime) -> CommissionEntry | None:
    if referral.affiliate_id is None:
        return None
    plan = plan_of(referral.affiliate)
    if plan.signup_bounty <= 0:
        return None
    entry = CommissionEntry(
        kind=Kind.SIGNUP,
        affiliate_id=referral.affiliate_id,
        amount=plan.signup_bounty,
        currency=settings.PROGRAM_CURRENCY,
        source_type=CommissionEntry.SourceType.SIGNUP,
        source_id=str(referral.pk),
        rule=f"{plan.name}: signup bounty",
        approve_after=referral.created_at + hold(),
        created_at=now,
    )
    return _declined_if_not_earning(entry, referral.affiliate, now, None)
