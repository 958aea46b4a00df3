"""What the program's public page (`/`) says it pays and how it pays: read from the default
plan (affiliates.Plan, its tiers and product-plan bonuses), the tracking and commission
settings, the payout providers switched on, and the payout jobs of the beat schedule — so
the page never promises anything the code does not do."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from affiliates.models import Affiliate, Plan
from config.celery import app as celery_app
from payouts.gateways.registry import paypal_enabled, stripe_connect_enabled

PAYOUT_TASK = "payouts.run_payouts"


@dataclass(frozen=True)
class TierTerms:
    """A tier's band of last calendar month's sales, minor units of the program currency:
    `low` inclusive, `high` inclusive or None (no upper bound)."""

    low: int
    high: int | None
    first_payment_bp: int
    recurring_bp: int


@dataclass(frozen=True)
class BonusTerms:
    product_plan: str
    amount: int
    hold_days: int


@dataclass(frozen=True)
class PayoutDay:
    """A payout job of the beat schedule: the days of the month it runs, and for whom."""

    days_of_month: tuple[int, ...]
    hour: int
    minute: int
    two_weekly_only: bool


@dataclass(frozen=True)
class ProgramTerms:
    currency: str
    plan_name: str | None  # None: no default plan (an admin removed it)
    signup_bounty: int = 0
    first_payment_bp: int = 0
    recurring_bp: int = 0
    recurring_months: int | None = None
    tiers: list[TierTerms] = field(default_factory=list)
    bonuses: list[BonusTerms] = field(default_factory=list)
    cookie_days: int = 0
    last_click: bool = False
    hold_days: int = 0
    threshold: int = 0
    methods: list[str] = field(default_factory=list)
    payout_days: list[PayoutDay] = field(default_factory=list)


def tier_bands(bounds: list[tuple[int, int, int]]) -> list[TierTerms]:
    """(min_sales, first_bp, recurring_bp) rows, any order → bands whose upper bound is the
    next tier's inclusive lower bound minus one minor unit."""
    rows = sorted(bounds)
    bands = []
    for i, (low, first_bp, recurring_bp) in enumerate(rows):
        high = rows[i + 1][0] - 1 if i + 1 < len(rows) else None
        bands.append(TierTerms(low, high, first_bp, recurring_bp))
    return bands


def payout_days() -> list[PayoutDay]:
    """The payout runs of config/celery.py's beat schedule, in day order."""
    days = []
    for entry in celery_app.conf.beat_schedule.values():
        if entry.get("task") != PAYOUT_TASK:
            continue
        schedule = entry["schedule"]
        days.append(
            PayoutDay(
                days_of_month=tuple(sorted(getattr(schedule, "day_of_month", ()) or ())),
                hour=min(getattr(schedule, "hour", {0}) or {0}),
                minute=min(getattr(schedule, "minute", {0}) or {0}),
                two_weekly_only=bool(entry.get("kwargs", {}).get("two_weekly_only")),
            )
        )
    return sorted(days, key=lambda d: (d.two_weekly_only, d.days_of_month))


def payout_methods() -> list[str]:
    """Labels of the payout methods an affiliate can choose now (bank transfer always: an
    admin pays it by hand from the CSV export)."""
    methods = []
    if paypal_enabled():
        methods.append(str(_("PayPal")))
    if stripe_connect_enabled():
        methods.append(str(_("Stripe (to your bank account)")))
    methods.append(str(_("Bank transfer")))
    return methods


def program_terms() -> ProgramTerms:
    """Three queries whatever the data: the default plan, its tiers, its bonuses."""
    plan = Plan.objects.filter(is_default=True).prefetch_related("tiers", "bonuses").first()
    common = {
        "currency": settings.PROGRAM_CURRENCY,
        "cookie_days": settings.REFERRAL_COOKIE_DAYS,
        "last_click": settings.ATTRIBUTION == "last_click",
        "hold_days": settings.COMMISSION_HOLD_DAYS,
        "threshold": int(Affiliate._meta.get_field("payout_threshold").get_default()),
        "methods": payout_methods(),
        "payout_days": payout_days(),
    }
    if plan is None:
        return ProgramTerms(plan_name=None, **common)
    tiers = (
        tier_bands([(t.min_sales, t.first_payment_bp, t.recurring_bp) for t in plan.tiers.all()])
        if plan.use_tiers
        else []
    )
    bonuses = sorted(
        (BonusTerms(b.product_plan, b.amount, b.hold_days) for b in plan.bonuses.all()),
        key=lambda b: (b.amount, b.product_plan),
    )
    return ProgramTerms(
        plan_name=plan.name,
        signup_bounty=plan.signup_bounty,
        first_payment_bp=plan.first_payment_bp,
        recurring_bp=plan.recurring_bp,
        recurring_months=plan.recurring_months,
        tiers=tiers,
        bonuses=bonuses,
        **common,
    )
