"""The affiliate's commission history and payouts, with their totals and CSV rows.

Entries are filtered by state, kind and the period in which they were written (UTC days of
`created_at`; "all" filters no date). Totals are per currency and state, for exactly the
filter the list shows: from the ledger's daily rollup when the filter is at most a state,
else one grouped query of the entries. Money stays integer
minor units; the CSV turns it into decimal strings with config.money.to_decimal_string.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    F,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    When,
    Window,
)
from django.db.models.functions import Cast, Coalesce, RowNumber
from django.utils.formats import get_format
from django.utils.translation import gettext

from commissions import ledger_rollups
from commissions.models import CommissionEntry
from config.money import format_money, to_decimal_string, with_percent_sign
from config.pagination import Pagination
from dashboard.selectors.period import Period
from dashboard.selectors.referrals import mask_account
from payouts.models import Payout, PayoutItem
from tracking.models import Referral

PAGE_SIZE = Pagination.page_size
STATES = tuple(CommissionEntry.State.values)
KINDS = tuple(CommissionEntry.Kind.values)
PAYOUT_STATES = tuple(Payout.State.values)
# Payouts that have not reached a final state yet.
OPEN_PAYOUT_STATES = (
    Payout.State.AWAITING_APPROVAL,
    Payout.State.PENDING,
    Payout.State.SENDING,
    Payout.State.UNKNOWN,
)


def format_bp(rate_bp: int) -> str:
    """Basis points as a percentage figure without trailing zeros, in the active language's
    decimal mark: 2000 → "20", 2050 → "20.5" (de "20,5"), 1234 → "12.34" (integers only)."""
    sign = "-" if rate_bp < 0 else ""
    whole, frac = divmod(abs(rate_bp), 100)
    decimal = str(get_format("DECIMAL_SEPARATOR"))
    return f"{sign}{whole}" + (decimal + f"{frac:02d}".rstrip("0") if frac else "")


def rate_words(entry: CommissionEntry) -> str:
    """The rate of an entry in words: "20% of USD 49.00" (fr "20 % de 49,00 USD"), or ""
    when it has no rate (a flat bounty or bonus)."""
    if entry.rate_bp is None or entry.base_amount is None:
        return ""
    return gettext("%(rate)s of %(base)s") % {
        "rate": with_percent_sign(format_bp(entry.rate_bp)),
        "base": format_money(entry.base_amount, entry.base_currency or entry.currency),
    }


def _day_start(day: Any) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def entries_for(
    *, affiliate_id: int, state: str = "", kind: str = "", period: Period | None = None
) -> QuerySet[CommissionEntry]:
    """The affiliate's entries for the filter, newest first, each annotated with the
    customer it came from (`customer_id`) and `referral_pk` when that customer is this
    affiliate's referral (an employee's entries may come from another's customer)."""
    qs = CommissionEntry.objects.for_affiliate(affiliate_id)
    if state in STATES:
        qs = qs.filter(state=state)
    if kind in KINDS:
        qs = qs.filter(kind=kind)
    if period is not None and period.key != "all":
        qs = qs.filter(
            created_at__gte=_day_start(period.start),
            created_at__lt=_day_start(period.end + timedelta(days=1)),
        )
    # Signup entries name their referral by source_id (always digits for that type).
    referral_id = Case(
        When(
            source_type=CommissionEntry.SourceType.SIGNUP,
            source_id__regex=r"^[0-9]{1,18}$",  # PostgreSQL refuses to cast anything else
            then=Cast("source_id", BigIntegerField()),
        ),
        default=F("payment__referral_id"),
        output_field=BigIntegerField(),
    )
    referral = Referral.objects.filter(pk=OuterRef("referral_id"))
    return (
        qs.annotate(referral_id=referral_id)
        .annotate(
            customer_id=Subquery(referral.values("customer_id")[:1], output_field=CharField()),
            referral_affiliate_id=Subquery(
                referral.values("affiliate_id")[:1], output_field=BigIntegerField()
            ),
        )
        .order_by("-created_at", "-pk")
    )


@dataclass
class CurrencyTotals:
    currency: str
    by_state: dict[str, int] = field(default_factory=dict)
    count: int = 0

    @property
    def in_balance(self) -> int:
        """Every state but declined (declined entries count nowhere)."""
        return sum(v for s, v in self.by_state.items() if s != CommissionEntry.State.DECLINED)


def entry_totals(entries: QuerySet[CommissionEntry]) -> list[CurrencyTotals]:
    """Sums per currency and state of exactly these entries, sorted by currency."""
    rows = (
        entries.order_by()
        .values("currency", "state")
        # Count of amount (never null), not of pk: the covering index entry_affiliate_totals
        # answers the unfiltered totals by an index-only scan.
        .annotate(total=Sum("amount"), n=Count("amount"))
        .order_by("currency", "state")
    )
    out: dict[str, CurrencyTotals] = {}
    for row in rows:
        per = out.setdefault(row["currency"], CurrencyTotals(currency=row["currency"]))
        per.by_state[row["state"]] = row["total"] or 0
        per.count += row["n"]
    for per in out.values():
        for state in STATES:
            per.by_state.setdefault(state, 0)
    return [out[c] for c in sorted(out)]


def affiliate_totals(*, affiliate_id: int, state: str = "") -> list[CurrencyTotals]:
    """entry_totals of all the affiliate's entries (of one state, if given), from the
    ledger's daily rollup (commissions.ledger_rollups: two queries bounded by the days with
    entries, not by the entries; days not swept yet are read live, so it equals the sum of
    the list it heads)."""
    out: dict[str, CurrencyTotals] = {}
    for row in ledger_rollups.ledger_sums(affiliate_id=affiliate_id):
        if state and row.state != state:
            continue
        per = out.setdefault(row.currency, CurrencyTotals(currency=row.currency))
        per.by_state[row.state] = per.by_state.get(row.state, 0) + row.amount
        per.count += row.entries
    for per in out.values():
        for s in STATES:
            per.by_state.setdefault(s, 0)
    return [out[c] for c in sorted(out)]


def totals_for(
    entries: QuerySet[CommissionEntry],
    *,
    affiliate_id: int,
    state: str = "",
    kind: str = "",
    period: Period | None = None,
) -> list[CurrencyTotals]:
    """The totals of `entries` (entries_for with the same filter): from the rollup when the
    filter is at most a state (the page's default, all time), else summed from the entries
    (a kind, or a period of written days, which the rollup does not key; an index range)."""
    if not kind and (period is None or period.key == "all"):
        return affiliate_totals(affiliate_id=affiliate_id, state=state)
    return entry_totals(entries)


class _CountedPaginator(Paginator):
    """A paginator told its count (entry_totals already counted the rows: no second scan)."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @property
    def count(self) -> int:
        return self._known_count


def entry_page(
    entries: QuerySet[CommissionEntry], *, page: Any, totals: list[CurrencyTotals] | None = None
) -> Page:
    """One page of entries; with `totals` (entry_totals of the same entries) the row count
    is their sum instead of a COUNT query."""
    if totals is None:
        return Paginator(entries, PAGE_SIZE).get_page(page)
    count = sum(t.count for t in totals)
    return _CountedPaginator(entries, PAGE_SIZE, count=count).get_page(page)


ENTRY_CSV_HEADER = [
    "entry_id",
    "created_at",
    "kind",
    "state",
    "amount",
    "currency",
    "amount_minor",
    "rule",
    "rate_bp",
    "base_amount",
    "base_currency",
    "customer_id",
    "approve_after",
    "approved_at",
    "paid_at",
]


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def entry_csv_rows(entries: QuerySet[CommissionEntry]) -> Iterator[list[Any]]:
    """The header, then one row per entry, read in chunks (one query on PostgreSQL)."""
    yield ENTRY_CSV_HEADER
    for e in entries.iterator(chunk_size=2000):
        base_currency = e.base_currency or e.currency
        yield [
            e.pk,
            _iso(e.created_at),
            e.kind,
            e.state,
            to_decimal_string(e.amount, e.currency),
            e.currency,
            e.amount,
            e.rule,
            "" if e.rate_bp is None else e.rate_bp,
            "" if e.base_amount is None else to_decimal_string(e.base_amount, base_currency),
            base_currency if e.base_amount is not None else "",
            getattr(e, "customer_id", None) or "",  # annotated by entries_for
            _iso(e.approve_after),
            _iso(e.approved_at),
            _iso(e.paid_at),
        ]


ITEMS_SHOWN = 10  # items listed per payout on the page (the CSV lists every one)
PAYOUT_PAGE_SIZE = 20  # payouts per page: each is a card with its items


def payouts_for(*, affiliate_id: int, state: str = "") -> QuerySet[Payout]:
    """The affiliate's payouts, newest first (no items: payout_page fetches those for the
    shown page only, payout_csv_rows their entry ids)."""
    qs = Payout.objects.filter(affiliate_id=affiliate_id)
    if state in PAYOUT_STATES:
        qs = qs.filter(state=state)
    return qs.order_by("-created_at", "-pk")


@dataclass
class PayoutTotals:
    currency: str
    paid: int = 0
    open: int = 0
    failed: int = 0


def payout_totals(payouts: QuerySet[Payout]) -> list[PayoutTotals]:
    """Per currency: paid (net of nothing: a reversal is its own figure), still open, and
    failed (whose entries went back to approved)."""
    rows = (
        payouts.order_by()
        .values("currency", "state")
        .annotate(total=Sum("amount"))
        .order_by("currency")
    )
    out: dict[str, PayoutTotals] = {}
    for row in rows:
        per = out.setdefault(row["currency"], PayoutTotals(currency=row["currency"]))
        total = row["total"] or 0
        if row["state"] == Payout.State.PAID:
            per.paid += total
        elif row["state"] == Payout.State.FAILED:
            per.failed += total
        else:
            per.open += total
    return [out[c] for c in sorted(out)]


def payout_page(payouts: QuerySet[Payout], *, page: Any) -> Page:
    """One page of payouts, each with `item_count` (Payout.entry_count, else a subquery
    count: no join that would multiply amounts) and `shown_items`, its first ITEMS_SHOWN items by entry (with their
    entries), fetched for this page only. Four queries however many payouts and items:
    the count, the page, the shown items' ids (one indexed LIMIT per payout, UNION ALL),
    the items."""
    item_count = (
        PayoutItem.objects.filter(payout=OuterRef("pk"))
        .order_by()
        .values("payout")
        .annotate(n=Count("pk"))
        .values("n")
    )
    # The stored count; the subquery only for a payout without one (COALESCE evaluates its
    # later arguments only when needed).
    counted = payouts.annotate(
        item_count=Coalesce(
            Cast("entry_count", BigIntegerField()),
            Subquery(item_count, output_field=BigIntegerField()),
            0,
        )
    )
    result = Paginator(counted, PAYOUT_PAGE_SIZE).get_page(page)
    shown: list[Payout] = list(result.object_list)
    result.object_list = shown  # type: ignore[assignment]  # evaluated once, reused
    firsts = [
        PayoutItem.objects.filter(payout_id=p.pk)
        .order_by("entry_id")
        .values_list("pk")[:ITEMS_SHOWN]
        for p in shown
    ]
    by_payout: dict[int, list[PayoutItem]] = {p.pk: [] for p in shown}
    if firsts:
        ids: Any
        if len(firsts) == 1:
            ids = firsts[0]
        elif connection.features.supports_slicing_ordering_in_compound:
            ids = firsts[0].union(*firsts[1:], all=True)
        else:  # SQLite: a window over the page's items (fine at SQLite's sizes)
            ids = (
                PayoutItem.objects.filter(payout_id__in=list(by_payout))
                .annotate(
                    n=Window(RowNumber(), partition_by=[F("payout_id")], order_by=[F("entry_id")])
                )
                .filter(n__lte=ITEMS_SHOWN)
                .values_list("pk")
            )
        items = PayoutItem.objects.filter(pk__in=[pk for (pk,) in ids]).select_related("entry")
        # get_kind_display per item would hash every lazy choice label (a gettext each).
        kinds = {value: str(label) for value, label in CommissionEntry.Kind.choices}
        for item in items.order_by("entry_id"):
            item.kind_label = kinds.get(item.entry.kind, item.entry.kind)  # type: ignore[attr-defined]
            by_payout[item.payout_id].append(item)
    for p in shown:
        p.shown_items = by_payout[p.pk]  # type: ignore[attr-defined]
    return result


def payout_destination(payout: Payout) -> str:
    """Where a payout went, masked: the affiliate sees a hint, never the whole address."""
    return mask_account(payout.destination)


PAYOUT_CSV_HEADER = [
    "payout_id",
    "created_at",
    "state",
    "method",
    "destination",
    "amount",
    "currency",
    "amount_minor",
    "entry_ids",
    "sent_at",
    "paid_at",
    "failed_at",
    "reference",
]


def payout_csv_rows(payouts: QuerySet[Payout]) -> Iterator[list[Any]]:
    """The header, then one row per payout; entry_ids lists the entries it carried
    (space-separated), failed payouts' returned items included."""
    yield PAYOUT_CSV_HEADER
    items = PayoutItem.objects.order_by("entry__created_at", "pk").only("payout_id", "entry_id")
    with_items = payouts.prefetch_related(Prefetch("items", queryset=items))
    for p in with_items.iterator(chunk_size=500):
        yield [
            p.pk,
            _iso(p.created_at),
            p.state,
            p.method,
            payout_destination(p),
            to_decimal_string(p.amount, p.currency),
            p.currency,
            p.amount,
            " ".join(str(item.entry_id) for item in p.items.all()),
            _iso(p.sent_at),
            _iso(p.paid_at),
            _iso(p.failed_at),
            p.reference,
        ]
