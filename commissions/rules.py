"""Commission rules: which entries a payment earns, by the plan of each credited affiliate.

Pure reads and arithmetic; services.py writes what this returns. Rates are fixed when an
entry is written, so changing a plan affects only payments processed afterwards.

Tiers (PlanTier.min_sales is an inclusive lower bound in program-currency minor units). With
the default plan's bounds 0, 50000 and 100001:
    previous-month sales <  $500.00                 → tier 1 (50 % first / 20 % recurring)
    $500.00 ≤ sales ≤ $1,000.00 (50000…100000)      → tier 2 (60 % / 25 %)
    sales ≥ $1,000.01 (100001…)                     → tier 3 (70 % / 30 %)
"Sales" are the affiliate's referred customers' payments (net of tax, before refunds) in
the previous calendar month (UTC) of the payment, in the program currency at each
payment's recorded rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q, Sum

from affiliates.models import Affiliate, Plan
from commissions.models import CommissionEntry, Payment
from commissions.money import apply_rate, convert
from tracking.models import Referral

Kind = CommissionEntry.Kind


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


def default_plan() -> Plan:
    plan = Plan.objects.filter(is_default=True).prefetch_related("tiers", "bonuses").first()
    # No default plan configured: Publer's flat defaults (unsaved, no tiers or bonuses).
    return plan or Plan(name="(built-in default)", use_tiers=False)


def plan_of(affiliate: Affiliate, cache: dict | None = None) -> Plan:
    key = ("plan", affiliate.plan_id)
    if cache is not None and key in cache:
        return cache[key]
    if affiliate.plan_id is None:
        plan = default_plan()
    else:
        plan = Plan.objects.prefetch_related("tiers", "bonuses").get(pk=affiliate.plan_id)
    if cache is not None:
        cache[key] = plan
    return plan


def previous_month_sales(*, affiliate_id: int, moment: datetime) -> int:
    start, end = previous_month(moment)
    total = Payment.objects.filter(
        Q(referral__affiliate_id=affiliate_id) | Q(referral__employee_id=affiliate_id),
        paid_at__gte=start,
        paid_at__lt=end,
    ).aggregate(total=Sum("program_amount"))["total"]
    return total or 0


@dataclass(frozen=True)
class Rate:
    bp: int
    rule: str


def payment_rate(*, affiliate: Affiliate, plan: Plan, payment: Payment) -> Rate:
    kind_word = "first payment" if payment.is_first else "recurring payment"
    if affiliate.commission_override_bp is not None:
        return Rate(affiliate.commission_override_bp, f"affiliate override: {kind_word}")
    tiers = sorted(plan.tiers.all(), key=lambda t: t.min_sales) if plan.pk else []
    if plan.use_tiers and tiers:
        sales = previous_month_sales(affiliate_id=affiliate.pk, moment=payment.paid_at)
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


def _earners(referral: Referral, payment: Payment) -> list[tuple[Affiliate, datetime | None]]:
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
    for affiliate, months_from in _earners(referral, payment):
        plan = plan_of(affiliate, cache)
        if not payment.is_first and plan.recurring_months is not None:
            if months_from is None:
                if first_paid_at is None:
                    first_paid_at = (
                        Payment.objects.filter(referral=referral)
                        .order_by("paid_at")
                        .values_list("paid_at", flat=True)
                        .first()
                    ) or payment.paid_at
                months_from = first_paid_at
            if payment.paid_at >= add_months(months_from, plan.recurring_months):
                continue  # past the plan's N months of recurring commission
        rate = payment_rate(affiliate=affiliate, plan=plan, payment=payment)
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
        bonus = _plan_bonus(plan=plan, payment=payment, referral=referral)
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
    return entries


def _plan_bonus(*, plan: Plan, payment: Payment, referral: Referral):  # -> PlanBonus | None
    if not plan.pk or not payment.product_plan:
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
    return CommissionEntry(
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
