"""The ledger's daily rollup (commissions.LedgerDay): per affiliate, earning day, currency and
state, the sum and count of the entries, so the dashboards' earnings, per-state tiles and
totals read a bounded number of rows instead of every entry of a period.

The earning day (`CommissionEntry.earned_on`, the rule of commissions/rollups.py):
- an entry tied to a payment (its commission, bonus, a clawback of a refund or dispute):
  the UTC day the payment was paid;
- a signup bounty: the UTC day of the signup (the referral's created_at; the day it was
  written when that referral is not found);
- anything else (adjustments, prizes): the UTC day it was written.
`insert_entries` stamps it (`stamp_and_mark`); a row written around it (a bulk load, a
test's fixture) is stamped by the sweep (`stamp_unstamped`), and read nowhere until then.

How the rollup stays right: every writer marks the (affiliate, earning day) pairs it
touches in its own transaction (LedgerDayDue): an entry inserted (`stamp_and_mark`), moved
by commissions.services.move_entries (declined, in payout, paid, back to approved: payouts
move entries only through it) and by the set-based approval job (`mark_pairs`, the pairs its
UPDATE … RETURNING gave back: one INSERT per batch, never a query per row). The every-minute
sweeper (`refresh_ledger_days`, in commissions.process_pending_events) recomputes the marked
pairs from the ledger and clears exactly the marks it read.

Readers never wait for the sweeper (`ledger_sums`): they read the marked days of their scope
first, then, in one statement, the rollup for every other day plus the ledger itself for the
marked days (an index range on (affiliate, earned_on) or earned_on). So today, whose marks
are seldom swept yet, is always live and exact, a closed day is one rollup row per currency
and state, and a write committed between those two reads shows on the next request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Cast, Coalesce, TruncDate

from commissions.ledger_models import SIGNUP_ID
from commissions.models import CommissionEntry, LedgerDay, LedgerDayDue, Payment
from tracking.models import Referral

E = CommissionEntry
Pair = tuple[int, date]

# Arbitrary constant naming the PostgreSQL advisory lock of the ledger sweep (held to commit):
# two sweeps interleaving could write an older recompute over a newer one.
SWEEP_LOCK_KEY = 7_411_020_003


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


# --- stamping and marking (inside the writer's transaction) --------------------------------


def stamp_and_mark(*, entries: Iterable[CommissionEntry]) -> None:
    """Entries about to be inserted (their `payment` attached if any): set each one's
    earned_on (one query for the signup bounties' referrals) and mark their pairs due."""
    entries = list(entries)
    signups: dict[int, list[CommissionEntry]] = defaultdict(list)
    for e in entries:
        if e.earned_on is not None:
            continue
        if e.payment is not None:
            e.earned_on = utc_day(e.payment.paid_at)
        elif e.source_type == E.SourceType.SIGNUP and SIGNUP_ID.fullmatch(e.source_id):
            signups[int(e.source_id)].append(e)
        else:
            e.earned_on = utc_day(e.created_at)
    if signups:
        signed_up = dict(
            Referral.objects.filter(pk__in=list(signups)).values_list("pk", "created_at")
        )
        for pk, waiting in signups.items():
            for e in waiting:
                at = signed_up.get(pk)
                e.earned_on = utc_day(at if at is not None else e.created_at)
    mark_pairs(pairs=((e.affiliate_id, e.earned_on) for e in entries))


def mark_pairs(*, pairs: Iterable[tuple[int | None, date | None]]) -> int:
    """Mark (affiliate, earning day) pairs due, in one INSERT; pairs with a missing part (an
    entry not stamped yet: the sweep marks it when it stamps it) are left out."""
    due = sorted({(a, d) for a, d in pairs if a is not None and d is not None})
    if not due:
        return 0
    # Written out rather than bulk_create: the approval job marks up to a batch's worth of
    # pairs (10,000) per batch, and model instances were a third of its time (bench/approval.py).
    quote = connection.ops.quote_name
    table = quote(LedgerDayDue._meta.db_table)
    columns = f"{quote('affiliate_id')}, {quote('day')}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            affiliates, days = zip(*due, strict=True)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT * FROM unnest(%s::bigint[], %s::date[])",
                [list(affiliates), list(days)],
            )
        else:
            adapt = connection.ops.adapt_datefield_value
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s)",
                [(a, adapt(d)) for a, d in due],
            )
    return len(due)


def mark_entry_ids(*, entry_ids: Iterable[int]) -> int:
    """Entries whose state moved: their distinct pairs, read set-wise (1,000 ids a query)."""
    ids = list(entry_ids)
    pairs: set[tuple[int | None, date | None]] = set()
    for i in range(0, len(ids), 1000):
        pairs.update(
            E.objects.filter(pk__in=ids[i : i + 1000])
            .values_list("affiliate_id", "earned_on")
            .distinct()
            .order_by()
        )
    return mark_pairs(pairs=pairs)


# --- the sweep -------------------------------------------------------------------------------


def earned_on_sql() -> Case:
    """The earning-day rule as one SQL expression (for rows stamped by the sweep and the
    backfill): the same days `stamp_and_mark` gives."""
    written = TruncDate("created_at", tzinfo=UTC)
    paid_day = Payment.objects.filter(pk=OuterRef("payment_id")).annotate(
        d=TruncDate("paid_at", tzinfo=UTC)
    )
    signup_day = Referral.objects.filter(
        pk=Cast(OuterRef("source_id"), BigIntegerField())
    ).annotate(d=TruncDate("created_at", tzinfo=UTC))
    return Case(
        When(payment_id__isnull=False, then=Subquery(paid_day.values("d")[:1])),
        When(
            source_type=E.SourceType.SIGNUP,
            source_id__regex=rf"^{SIGNUP_ID.pattern}$",  # PostgreSQL casts nothing else
            then=Coalesce(Subquery(signup_day.values("d")[:1]), written),
        ),
        default=written,
        output_field=DateField(),
    )


def stamp_unstamped(*, limit: int = 20_000) -> int:
    """Stamp up to `limit` ids' worth of entries written without earned_on (from the lowest
    such id: a key range, no id list) and mark their pairs due. Returns the rows stamped."""
    first = E.objects.filter(earned_on__isnull=True).aggregate(first=Min("pk"))["first"]
    if first is None:
        return 0
    window = E.objects.filter(pk__gte=first, pk__lt=first + limit)
    with transaction.atomic():
        stamped = window.filter(earned_on__isnull=True).update(earned_on=earned_on_sql())
        mark_pairs(pairs=window.values_list("affiliate_id", "earned_on").distinct().order_by())
    return stamped


def _pairs_q(by_affiliate: dict[int, set[date]], day_field: str) -> Q:
    q = Q()
    for affiliate_id, days in by_affiliate.items():
        q |= Q(affiliate_id=affiliate_id, **{f"{day_field}__in": sorted(days)})
    return q


def refresh_due_ledger_days(*, limit: int = 5000) -> tuple[int, bool]:
    """Recompute the LedgerDay rows of up to `limit` marks, in one transaction, and delete
    exactly the marks read (a mark committed meanwhile stays for the next run). Returns
    (pairs recomputed, more marks may be waiting)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SWEEP_LOCK_KEY])
                if not cursor.fetchone()[0]:
                    return 0, False  # another sweep is at it; what it misses stays marked
        marks = list(
            LedgerDayDue.objects.order_by("pk").values_list("pk", "affiliate_id", "day")[:limit]
        )
        if not marks:
            return 0, False
        by_affiliate: dict[int, set[date]] = defaultdict(set)
        for _, affiliate_id, day in marks:
            by_affiliate[affiliate_id].add(day)
        affiliates = sorted(by_affiliate)
        for i in range(0, len(affiliates), 50):
            chunk = {a: by_affiliate[a] for a in affiliates[i : i + 50]}
            LedgerDay.objects.filter(_pairs_q(chunk, "day")).delete()
            rows = (
                E.objects.filter(_pairs_q(chunk, "earned_on"))
                .values("affiliate_id", "earned_on", "currency", "state")
                .annotate(total=Sum("amount"), n=Count("amount"))
                .order_by()
            )
            LedgerDay.objects.bulk_create(
                [
                    LedgerDay(
                        affiliate_id=r["affiliate_id"],
                        day=r["earned_on"],  # type: ignore[misc]  # the marked days: never null
                        currency=r["currency"],
                        state=r["state"],
                        amount=r["total"] or 0,
                        entries=r["n"],
                    )
                    for r in rows
                ],
                batch_size=1000,
            )
        ids = [pk for pk, _, _ in marks]
        for i in range(0, len(ids), 1000):
            LedgerDayDue.objects.filter(pk__in=ids[i : i + 1000]).delete()
        return sum(len(days) for days in by_affiliate.values()), len(marks) == limit


def refresh_ledger_days(*, limit: int = 5000, max_runs: int = 20) -> int:
    """The sweeper's step: stamp entries written without an earning day, then recompute
    the marked pairs, `limit` marks per transaction, at most `max_runs` transactions each
    (the rest waits for the next sweep). Returns the pairs recomputed (0: nothing left)."""
    for _ in range(max_runs):
        if not stamp_unstamped():
            break
    written = 0
    for _ in range(max_runs):
        count, more = refresh_due_ledger_days(limit=limit)
        written += count
        if not more:
            break
    return written


# --- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerSum:
    """The entries of one (day, currency, state) — day None when not asked by day."""

    day: date | None
    currency: str
    state: str
    amount: int
    entries: int
    affiliate_id: int | None = None  # set only when asked by affiliate


def ledger_sums(
    *,
    affiliate_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
    by_day: bool = False,
    by_affiliate: bool = False,
    states: Iterable[str] | None = None,
) -> list[LedgerSum]:
    """Sums and counts of the entries earned from `start` to `end` (UTC days, both included;
    None: unbounded) of one affiliate or the whole program, per currency and state (and per
    day with `by_day`). Every state, declined included: callers pick. Two queries whatever
    the data size: the scope's marked days, then the rollup of the other days UNION ALL the
    ledger of the marked ones (module docstring). With no lower bound, entries not stamped
    yet are read live too (counted on no day: day None). `by_affiliate` splits the rows per
    affiliate too; `states` keeps only those states (both on the rollup and the live side)."""
    due = LedgerDayDue.objects.all()
    rolled: QuerySet[LedgerDay] = LedgerDay.objects.all()
    live: QuerySet[CommissionEntry] = E.objects.all()
    if affiliate_id is not None:
        due, rolled = (
            due.filter(affiliate_id=affiliate_id),
            rolled.filter(affiliate_id=affiliate_id),
        )
        live = live.filter(affiliate_id=affiliate_id)
    if start is not None:
        due, rolled = due.filter(day__gte=start), rolled.filter(day__gte=start)
    if end is not None:
        due, rolled = due.filter(day__lte=end), rolled.filter(day__lte=end)
    if states is not None:
        wanted = list(states)
        rolled, live = rolled.filter(state__in=wanted), live.filter(state__in=wanted)
    marked = sorted(set(due.order_by().values_list("day", flat=True).distinct()))
    live_q = Q(earned_on__in=marked)
    if start is None:
        live_q |= Q(earned_on__isnull=True)
    keys: tuple[str, ...] = ("currency", "state")
    if by_affiliate:
        keys = ("affiliate_id", *keys)
    rolled_rows = (
        rolled.exclude(day__in=marked)
        .values(*(("day", *keys) if by_day else keys))
        .annotate(total=Sum("amount"), n=Sum("entries"))
        .order_by()
    )
    live_rows = (
        live.filter(live_q)
        .values(*(("earned_on", *keys) if by_day else keys))
        .annotate(total=Sum("amount"), n=Count("amount"))
        .order_by()
    )
    out = []
    for row in rolled_rows.union(live_rows, all=True):
        out.append(
            LedgerSum(
                day=row.get("day"),
                currency=row["currency"],
                state=row["state"],
                amount=int(row["total"] or 0),
                entries=int(row["n"] or 0),
                affiliate_id=row.get("affiliate_id"),
            )
        )
    return out
