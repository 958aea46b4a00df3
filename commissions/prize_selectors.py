"""The monthly prize standings: who brought the most revenue from new paying customers in a
month. Read by the award service (commissions.services.prizes) and the dashboard's
leaderboard.

The measure (README "Monthly prizes"): a customer counts for month M when its first payment
ever falls in M (UTC). Its revenue is what it paid in M, net of tax, in minor units of the
program currency (`Payment.program_amount`, converted at the rate recorded with the
payment), less what was refunded of it (in the same proportion, rounded half-up) and
nothing for a payment whose dispute was lost. An affiliate's revenue is the sum over the
customers credited to it (Referral.affiliate). Employees compete only in their own contest,
where a customer counts for the employee that referred it or was named at upgrade
(Referral.employee; once when both). Only approved affiliates qualify, with revenue > 0.

Ties, deterministic: more revenue first; equal revenue → the earlier first payment of a
counted customer; then the lower affiliate id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db.models import Exists, OuterRef

from affiliates.models import Affiliate
from commissions.models import Payment
from commissions.prize_models import Contest


@dataclass(frozen=True)
class Standing:
    affiliate_id: int
    revenue: int  # minor units of the program currency
    first_paid_at: datetime  # the earliest first payment among its counted customers
    customers: int


@dataclass(frozen=True)
class Standings:
    month: date
    contest: str
    rows: list[Standing]  # ranked: rows[0] is first
    # Payments of the month's new customers still without a program amount (waiting for an
    # exchange rate): a round is not decided on a guessed figure.
    waiting: int


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[start, end) of `month` in UTC."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    if month.month == 12:
        end = datetime(month.year + 1, 1, 1, tzinfo=UTC)
    else:
        end = datetime(month.year, month.month + 1, 1, tzinfo=UTC)
    return start, end


def previous_month(now: datetime) -> date:
    """The calendar month (UTC) before the one `now` falls in, as its first day."""
    day = now.astimezone(UTC).date().replace(day=1)
    return date(day.year - 1, 12, 1) if day.month == 1 else date(day.year, day.month - 1, 1)


def kept_revenue(*, program_amount: int, amount: int, refunded: int, dispute_state: str) -> int:
    """The payment's revenue that stays: its program amount less the refunded share."""
    if dispute_state == Payment.DisputeState.LOST or amount <= 0:
        return 0
    kept = max(amount - refunded, 0)
    # program_amount × kept / amount, half-up, in integers.
    return (2 * program_amount * kept + amount) // (2 * amount)


def prize_standings(*, month: date, contest: str) -> Standings:
    start, end = month_bounds(month)
    earlier = Payment.objects.filter(referral_id=OuterRef("referral_id"), paid_at__lt=start)
    rows = (
        Payment.objects.filter(paid_at__gte=start, paid_at__lt=end)
        .annotate(earlier=Exists(earlier))
        .filter(earlier=False)
        .values_list(
            "referral_id",
            "referral__affiliate_id",
            "referral__employee_id",
            "paid_at",
            "amount",
            "program_amount",
            "refunded_amount",
            "dispute_state",
        )
        .order_by("paid_at", "id")
    )
    employees = contest == Contest.EMPLOYEES
    eligible = set(
        Affiliate.objects.filter(
            status=Affiliate.Status.APPROVED, is_employee=employees
        ).values_list("pk", flat=True)
    )
    revenue: dict[int, int] = {}
    first: dict[int, datetime] = {}
    customers: dict[int, set[int]] = {}
    waiting = 0
    for (
        referral_id,
        affiliate_id,
        employee_id,
        paid_at,
        amount,
        program,
        refunded,
        dispute,
    ) in rows.iterator(chunk_size=2000):
        earners = {affiliate_id, employee_id} if employees else {affiliate_id}
        earners = {e for e in earners if e is not None and e in eligible}
        if not earners:
            continue
        if program is None:
            waiting += 1
            continue
        kept = kept_revenue(
            program_amount=program, amount=amount, refunded=refunded, dispute_state=dispute
        )
        for earner in earners:
            revenue[earner] = revenue.get(earner, 0) + kept
            # Rows come in paid_at order, so the first seen is the earliest.
            first.setdefault(earner, paid_at)
            customers.setdefault(earner, set()).add(referral_id)
    ranked = sorted(
        (Standing(a, revenue[a], first[a], len(customers[a])) for a in revenue if revenue[a] > 0),
        key=lambda s: (-s.revenue, s.first_paid_at, s.affiliate_id),
    )
    return Standings(month=month, contest=contest, rows=ranked, waiting=waiting)
