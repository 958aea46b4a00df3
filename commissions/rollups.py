"""Money columns of the tracking app's daily rollups (tracking.DailyStat): first payments
(upgrades), revenue and commission per affiliate per UTC day, in minor units of the program
currency.

Which day money belongs to (the same rule for the rollup and for anyone summing the ledger):
- a payment, and every entry tied to it (its commission, plan bonus, the kept share after a
  refund, a clawback), belongs to the day the payment was **paid** — not the day it was
  processed, nor the day of a later refund: a refund corrects the day of the sale;
- a signup bounty belongs to the day of the signup (the referral's created_at);
- any other entry (admin adjustments, prizes) to the day it was written.
Revenue is the payment's net-of-tax amount minus what was refunded (a lost dispute refunds
all of it), in the program currency at the payment's recorded rate; commission is every
entry that is not declined (clawbacks, negative, included), each converted at its recorded
rate when it is not in the program currency.

How the rollup stays right: every writer of money (commissions.services: a payment
inserted, a refund or lost dispute booked, an entry inserted, an entry declined) marks its
(affiliate, day) due in the same transaction (`mark_*` below, through
tracking.services.mark_daily_money_due), whatever the day; the every-minute sweeper
(`refresh_daily_money`) recomputes the marked days from the payments and the ledger and
clears the marks. Dashboards thus lag by at most a sweep, and a late payment or a refund of
a months-old payment is never lost.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum

from commissions.models import CommissionEntry, Payment
from config.money import convert
from tracking.models import Referral
from tracking.services import mark_daily_money_due, refresh_due_daily_money

logger = logging.getLogger(__name__)

E = CommissionEntry
Pair = tuple[int, date]


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


# --- marking (called by commissions.services inside the writer's transaction) -----------


def mark_entries(
    *, entries: Iterable[CommissionEntry], also: Iterable[tuple[int | None, date]] = ()
) -> None:
    """Entries about to be inserted (their `payment` attached if any), and `also` other
    (affiliate, day) pairs, in one INSERT."""
    rows = []
    for e in entries:
        paid_at = e.payment.paid_at if e.payment_id is not None else None
        rows.append((e.affiliate_id, paid_at, e.source_type, e.source_id, e.created_at))
    pairs = _entry_days(rows) | set(also)
    if pairs:
        mark_daily_money_due(pairs=pairs)


def mark_entry_ids(*, entry_ids: Iterable[int]) -> None:
    """Entries whose state moved in a way that changes the commission (declined)."""
    ids = list(entry_ids)
    rows = []
    for i in range(0, len(ids), 1000):
        rows += E.objects.filter(pk__in=ids[i : i + 1000]).values_list(
            "affiliate_id", "payment__paid_at", "source_type", "source_id", "created_at"
        )
    mark_daily_money_due(pairs=_entry_days(rows))


def _entry_days(rows: Iterable[tuple[int, datetime | None, str, str, datetime]]) -> set[Pair]:
    pairs: set[Pair] = set()
    signups: dict[int, int] = {}  # referral pk → affiliate id
    for affiliate_id, paid_at, source_type, source_id, created_at in rows:
        if paid_at is not None:
            pairs.add((affiliate_id, utc_day(paid_at)))
        elif source_type == E.SourceType.SIGNUP and source_id.isdigit():
            signups[int(source_id)] = affiliate_id
        else:
            pairs.add((affiliate_id, utc_day(created_at)))
    if signups:
        for pk, created_at in Referral.objects.filter(pk__in=list(signups)).values_list(
            "pk", "created_at"
        ):
            pairs.add((signups[pk], utc_day(created_at)))
    return pairs


# --- recomputing ---------------------------------------------------------------------------


def _in_program_currency(amount: int, currency: str, fx_rate) -> int:  # noqa: ANN001
    if currency == settings.PROGRAM_CURRENCY or fx_rate is None:
        # Program-currency entries (signup bounties, plan bonuses) are counted as they are,
        # whatever rate rode along with them (a bonus carries its payment's rate).
        return amount
    return convert(amount, fx_rate)


def _spans(
    pairs: set[Pair], *, max_days: int = 31, max_gap: int = 7
) -> list[tuple[date, date, set[int]]]:
    """Group marked days into [first, last] spans (with the affiliates marked in them) so
    a burst of marks on a few days costs a few queries, and a mark a year back does not
    make today's recompute scan the whole year."""
    spans: list[tuple[date, date, set[int]]] = []
    for day in sorted({d for _, d in pairs}):
        affiliates = {a for a, d in pairs if d == day}
        if spans and (day - spans[-1][1]).days <= max_gap and (day - spans[-1][0]).days < max_days:
            first, _, ids = spans[-1]
            spans[-1] = (first, day, ids | affiliates)
        else:
            spans.append((day, day, affiliates))
    return spans


def money_rows(pairs: set[Pair]) -> list[tuple[int, date, int, int, int]]:
    """(affiliate_id, day, first_payments, revenue, commission) for the marked pairs (and
    any other pair of the same affiliates and days the queries happen to cover: each row is
    complete, so writing it is right too)."""
    money: dict[Pair, list[int]] = defaultdict(lambda: [0, 0, 0])
    for first, last, affiliates in _spans(pairs):
        start = datetime.combine(first, time.min, tzinfo=UTC)
        end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
        ids = sorted(affiliates)
        for i in range(0, len(ids), 500):
            _add_money(money, start=start, end=end, affiliate_ids=ids[i : i + 500])
    return [(a, d, *values) for (a, d), values in sorted(money.items())]


def _add_money(
    money: dict[Pair, list[int]], *, start: datetime, end: datetime, affiliate_ids: list[int]
) -> None:
    payments = Payment.objects.filter(
        paid_at__gte=start, paid_at__lt=end, referral__affiliate_id__in=affiliate_ids
    )
    for row in payments.values("referral__affiliate_id", "paid_at__date").annotate(
        first=Count("pk", filter=Q(is_first=True)), revenue=Sum("program_amount")
    ):
        key = (row["referral__affiliate_id"], row["paid_at__date"])
        money[key][0] += row["first"]
        money[key][1] += row["revenue"] or 0
    # Refunded payments (few): what is left of each, converted at its own rate.
    for affiliate_id, paid_at, amount, refunded, fx_rate, program_amount in payments.filter(
        refunded_amount__gt=0
    ).values_list(
        "referral__affiliate_id",
        "paid_at",
        "amount",
        "refunded_amount",
        "fx_rate",
        "program_amount",
    ):
        kept = convert(max(amount - refunded, 0), fx_rate)
        money[(affiliate_id, utc_day(paid_at))][1] -= program_amount - kept

    live = E.objects.filter(affiliate_id__in=affiliate_ids).exclude(state=E.State.DECLINED)
    # Entries of payments paid in the span.
    for affiliate_id, paid_at, amount, currency, fx_rate in (
        live.filter(payment__paid_at__gte=start, payment__paid_at__lt=end)
        .values_list("affiliate_id", "payment__paid_at", "amount", "currency", "fx_rate")
        .iterator(chunk_size=5000)
    ):
        money[(affiliate_id, utc_day(paid_at))][2] += _in_program_currency(
            amount, currency, fx_rate
        )
    # Signup bounties of referrals signed up in the span.
    signed_up = dict(
        Referral.objects.filter(
            affiliate_id__in=affiliate_ids, created_at__gte=start, created_at__lt=end
        ).values_list("pk", "created_at")
    )
    keys = [str(pk) for pk in signed_up]
    for i in range(0, len(keys), 1000):
        for affiliate_id, source_id, amount, currency, fx_rate in live.filter(
            source_type=E.SourceType.SIGNUP, source_id__in=keys[i : i + 1000], payment__isnull=True
        ).values_list("affiliate_id", "source_id", "amount", "currency", "fx_rate"):
            day = utc_day(signed_up[int(source_id)])
            money[(affiliate_id, day)][2] += _in_program_currency(amount, currency, fx_rate)
    # Anything else not tied to a payment, by the day it was written.
    for affiliate_id, created_at, amount, currency, fx_rate in (
        live.filter(payment__isnull=True, created_at__gte=start, created_at__lt=end)
        .exclude(source_type=E.SourceType.SIGNUP)
        .values_list("affiliate_id", "created_at", "amount", "currency", "fx_rate")
    ):
        money[(affiliate_id, utc_day(created_at))][2] += _in_program_currency(
            amount, currency, fx_rate
        )


def refresh_daily_money(
    *, now: datetime | None = None, limit: int = 5000, max_runs: int = 20
) -> int:
    """The sweeper's step: recompute every marked (affiliate, day), `limit` marks per
    transaction, at most `max_runs` transactions (the rest wait for the next sweep).
    Returns the (affiliate, day) rows written. `now` is unused (the marks say what is due)
    and kept for the task's call."""
    written = 0
    for _ in range(max_runs):
        count, more = refresh_due_daily_money(compute=money_rows, limit=limit)
        written += count
        if not more:
            break
    return written
