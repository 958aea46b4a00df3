"""The affiliate's referrals (the customers it brought) and one customer's drill-down.

**Status**, decided from the payments and the subscription events the product reported
(commissions.models.Payment, PlanChange), at `now`:

- a payment is *live* when some of it is kept: not fully refunded (a lost dispute is booked
  as a full refund, so it counts as refunded) and its dispute not lost;
- **paying**: the customer has a live payment, no cancellation after its latest live
  payment (its latest PlanChange is not `canceled` / `unpaid` / `incomplete_expired` at or
  after that payment), and either a live payment in the last PAYING_WINDOW_DAYS days or a
  latest PlanChange that says `active` (an annual plan pays once a year);
- **churned**: paid at least once, and not paying (refunded, cancelled or no recent
  payment);
- **signed up**: no payment yet.

**The list** reads each customer's summary (tracking.Referral.stat_*, kept by
commissions.referral_stats by the rule above, at most a sweep behind the ledger): status,
plan, first payment, and lifetime revenue (net of refunds) and commission (declined entries
left out) in the program currency, converted at each payment's and entry's recorded rate
as in the daily rollups. It filters by status and sorts by any column on those stored
columns, one index per sort with the affiliate first and the id as tiebreak, so a page
costs the same at 20 or 20,000 referrals (a COUNT and one page of rows).

**The drill-down** computes its customer live from the payments and the ledger, money in
each currency it was paid in: `with_figures` (status, plan, first payment) and
`money_by_referral`, two grouped queries.

E-mail addresses never leave this module whole: rows carry `mask_email(email)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from commissions.models import CommissionEntry, Dispute, Payment, PlanChange, Refund
from commissions.querysets import CommissionEntryQuerySet
from commissions.referral_stats import (
    ACTIVE_STATUSES,
    CANCELLED_STATUSES,
    CHURNED,
    PAYING,
    PAYING_WINDOW_DAYS,
    SIGNED_UP,
)
from config.pagination import Pagination
from tracking.models import Click, Referral

PAGE_SIZE = Pagination.page_size
STATUSES = (SIGNED_UP, PAYING, CHURNED)

# ?sort= value → the stored, indexed column it orders by; "-" in front sorts descending,
# ties by id in the same direction (tracking.Referral's indexes, read either way).
# Anything else → DEFAULT.
SORTS: dict[str, str] = {
    "signup": "created_at",
    "customer": "customer_id",
    "plan": "stat_plan",
    "status": "stat_status",
    "first_payment": "stat_first_paid_at",
    "revenue": "stat_revenue",
    "commission": "stat_commission",
}
DEFAULT_SORT = "-signup"
MAX_SEARCH = 200
MASK = "•••"


def mask_email(email: str | None) -> str:
    """ "jane.doe@example.com" → "j•••@e•••.com": the first letter of the name and of the
    domain, and the top-level domain; never more of another person's address."""
    text = (email or "").strip()
    if not text:
        return ""
    local, at, domain = text.rpartition("@")
    if not at:
        return text[0] + MASK
    masked = (local[:1] or "") + MASK + "@"
    host, dot, tld = domain.rpartition(".")
    if not dot or not host:
        return masked + (domain[:1] + MASK if domain else MASK)
    return masked + host[:1] + MASK + "." + tld


def mask_account(value: str | None) -> str:
    """A payout destination as the affiliate may be shown it: e-mails masked, account ids
    cut to their last four characters ("acct_…1a2b")."""
    text = (value or "").strip()
    if not text:
        return ""
    if "@" in text:
        return mask_email(text)
    head = text.split("_", 1)[0] + "_" if "_" in text else ""
    return f"{head}…{text[-4:]}" if len(text) > 8 else MASK


def _live_payments() -> QuerySet[Payment]:
    return Payment.objects.filter(
        referral_id=OuterRef("pk"), amount__gt=F("refunded_amount")
    ).exclude(dispute_state=Payment.DisputeState.LOST)


def _latest_plan_change() -> QuerySet[PlanChange]:
    return PlanChange.objects.filter(referral_id=OuterRef("pk")).order_by("-changed_at", "-pk")


def with_figures(referrals: QuerySet[Referral], *, now: datetime) -> QuerySet[Any]:
    """`referrals` with what a row shows, one query: first_paid_at, last_live_paid_at,
    current_plan and status. Correlated subqueries per row: apply it to one page of rows
    (or one referral), never to a whole affiliate's referrals."""
    since = now - timedelta(days=PAYING_WINDOW_DAYS)
    latest = _latest_plan_change()
    payments = Payment.objects.filter(referral_id=OuterRef("pk"))
    # Spelt without NOT over a nullable subquery (SQL's NOT NULL is NULL, not true): the
    # customer has no subscription event, or its latest is no cancellation, or it came
    # before the latest live payment (a customer who cancelled and came back).
    not_cancelled = (
        Q(latest_status__isnull=True)
        | ~Q(latest_status__in=CANCELLED_STATUSES)
        | Q(latest_changed_at__lt=F("last_live_paid_at"))
    )
    paying = (
        Q(last_live_paid_at__isnull=False)
        & not_cancelled
        & (Q(last_live_paid_at__gte=since) | Q(latest_status__in=ACTIVE_STATUSES))
    )
    return referrals.annotate(
        first_paid_at=Subquery(
            payments.order_by("paid_at", "pk").values("paid_at")[:1],
            output_field=DateTimeField(),
        ),
        last_live_paid_at=Subquery(
            _live_payments().order_by("-paid_at", "-pk").values("paid_at")[:1],
            output_field=DateTimeField(),
        ),
        latest_status=Subquery(latest.values("status")[:1], output_field=CharField()),
        latest_changed_at=Subquery(latest.values("changed_at")[:1], output_field=DateTimeField()),
        current_plan=Coalesce(
            Subquery(
                latest.exclude(product_plan="").values("product_plan")[:1],
                output_field=CharField(),
            ),
            Subquery(
                payments.exclude(product_plan="")
                .order_by("-paid_at", "-pk")
                .values("product_plan")[:1],
                output_field=CharField(),
            ),
            F("plan"),
        ),
        has_paid=Exists(payments),
    ).annotate(
        status=Case(
            When(paying, then=Value(PAYING)),
            When(has_paid=True, then=Value(CHURNED)),
            default=Value(SIGNED_UP),
            output_field=CharField(),
        ),
    )


@dataclass
class ReferralRow:
    pk: int
    customer_id: str
    email: str  # masked
    plan: str
    status: str
    signed_up_at: datetime
    first_paid_at: datetime | None
    source: str
    revenue: list[tuple[str, int]] = field(default_factory=list)  # (currency, minor units)
    commission: list[tuple[str, int]] = field(default_factory=list)
    # Set by the list view, which renders them once per row rather than through template
    # tags (the list's cost is its 50 rows' rendering).
    url: str = ""
    revenue_text: str = ""
    commission_text: str = ""
    signed_up_text: str = ""
    first_paid_text: str = ""

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])


STATUS_LABELS = {
    SIGNED_UP: pgettext_lazy("referral status", "Signed up"),
    PAYING: _("Paying"),
    CHURNED: _("Churned"),
}


def clean_sort(raw: Any) -> str:
    text = str(raw or "")
    return text if text.removeprefix("-") in SORTS else DEFAULT_SORT


def _order(sort: str) -> list[Any]:
    key = SORTS[sort.removeprefix("-")]
    descending = sort.startswith("-")
    if key == "stat_first_paid_at":
        # "No payment yet" last either way (indexes referral_aff_first_paid[_desc]).
        column = F(key).desc(nulls_last=True) if descending else F(key).asc(nulls_last=True)
    else:
        column = F(key).desc() if descending else F(key).asc()
    return [column, F("pk").desc() if descending else F("pk").asc()]


def filtered_referrals(
    *, affiliate_id: int, search: str = "", sort: str = "", status: str = ""
) -> QuerySet[Any]:
    """The affiliate's referrals with `status` (when one of STATUSES) matching `search` (in
    the customer id), in `sort` order: one query over stored columns."""
    qs = Referral.objects.filter(affiliate_id=affiliate_id)
    if status in STATUSES:
        qs = qs.filter(stat_status=status)
    search = (search or "").strip()[:MAX_SEARCH]
    if search:
        qs = qs.filter(customer_id__icontains=search)
    return qs.order_by(*_order(clean_sort(sort)))


def _entries_of(
    *, affiliate_id: int, referral_ids: list[int], payment_ids: list[int]
) -> CommissionEntryQuerySet:
    """This affiliate's entries of these referrals: those of their payments (`payment_ids`,
    read beforehand), and their signup bounties. Both tests are on the entry's own indexed
    columns (payment_id; source_type + source_id), so the OR is two index scans, not a scan
    of the affiliate's whole ledger (which an IN (subquery) inside an OR would be)."""
    return CommissionEntry.objects.for_affiliate(affiliate_id).filter(
        Q(payment_id__in=payment_ids)
        | Q(
            source_type=CommissionEntry.SourceType.SIGNUP,
            source_id__in=[str(pk) for pk in referral_ids],
        )
    )


def money_by_referral(
    *, affiliate_id: int, referral_ids: list[int]
) -> tuple[dict[int, list[tuple[str, int]]], dict[int, list[tuple[str, int]]]]:
    """({referral: [(currency, net revenue)]}, {referral: [(currency, commission)]}) for
    the given referrals (one page, or one): two queries whatever their number, their
    payments' rows and a grouped sum of their entries."""
    revenue: dict[int, list[tuple[str, int]]] = {pk: [] for pk in referral_ids}
    commission: dict[int, list[tuple[str, int]]] = {pk: [] for pk in referral_ids}
    if not referral_ids:
        return revenue, commission
    referral_of: dict[int, int] = {}  # payment → referral
    net: dict[tuple[int, str], int] = {}
    payments = Payment.objects.filter(referral_id__in=referral_ids).values_list(
        "pk", "referral_id", "currency", "amount", "refunded_amount"
    )
    for pk, referral_id, currency, amount, refunded in payments:
        referral_of[pk] = referral_id
        net[(referral_id, currency)] = net.get((referral_id, currency), 0) + amount - refunded
    for (referral_id, currency), total in sorted(net.items()):
        revenue[referral_id].append((currency, total))
    per: dict[tuple[int, str], int] = {}
    entries = (
        _entries_of(
            affiliate_id=affiliate_id, referral_ids=referral_ids, payment_ids=list(referral_of)
        )
        .in_balance()
        .values("payment_id", "source_type", "source_id", "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for summed in entries:
        owner = referral_of.get(summed["payment_id"])
        if summed["source_type"] == CommissionEntry.SourceType.SIGNUP and owner is None:
            owner = int(summed["source_id"])
        if owner is None:
            continue  # not one of these referrals' (cannot happen: both tests name them)
        key = (owner, summed["currency"])
        per[key] = per.get(key, 0) + (summed["total"] or 0)
    for (referral_id, currency), total in sorted(per.items()):
        commission[referral_id].append((currency, total))
    return revenue, commission


def _row(referral: Any, revenue: dict, commission: dict) -> ReferralRow:
    return ReferralRow(
        pk=referral.pk,
        customer_id=referral.customer_id,
        email=mask_email(referral.email),
        plan=referral.current_plan or "",
        status=referral.status,
        signed_up_at=referral.created_at,
        first_paid_at=referral.first_paid_at,
        source=referral.source,
        revenue=revenue.get(referral.pk, []),
        commission=commission.get(referral.pk, []),
    )


LIST_COLUMNS = (
    "pk",
    "customer_id",
    "email",
    "source",
    "created_at",
    "stat_status",
    "stat_plan",
    "stat_first_paid_at",
    "stat_revenue",
    "stat_commission",
)


def _summary_row(referral: Referral) -> ReferralRow:
    """A list row from the referral's stored summary. Money in the program currency: none
    shown before a first payment or a commission."""
    code = settings.PROGRAM_CURRENCY
    shown = referral.stat_first_paid_at is not None or referral.stat_commission != 0
    return ReferralRow(
        pk=referral.pk,
        customer_id=referral.customer_id,
        email=mask_email(referral.email),
        plan=referral.stat_plan,
        status=referral.stat_status if referral.stat_status in STATUSES else SIGNED_UP,
        signed_up_at=referral.created_at,
        first_paid_at=referral.stat_first_paid_at,
        source=referral.source,
        revenue=[(code, referral.stat_revenue)] if referral.stat_first_paid_at else [],
        commission=[(code, referral.stat_commission)] if shown else [],
    )


def referral_page(
    *,
    affiliate_id: int,
    now: datetime,
    search: str = "",
    sort: str = "",
    status: str = "",
    page: Any = 1,
) -> tuple[Page, list[ReferralRow]]:
    """One page of the list (junk page numbers give the first or the last page): a COUNT
    and the page's rows with their summaries, two queries whatever the number of referrals.
    `now` is unused (the summaries are kept current by the sweeper) and kept for callers."""
    qs = filtered_referrals(affiliate_id=affiliate_id, search=search, sort=sort, status=status)
    current = Paginator(qs.only(*LIST_COLUMNS), PAGE_SIZE).get_page(page)
    return current, [_summary_row(r) for r in current.object_list]


@dataclass
class Attribution:
    """What credited this affiliate, from the referral's structured evidence only. The
    stored `why` text is not shown: its notes may name other affiliates ("coupon X of bob:
    bob is suspended"), and this page shows nothing of another affiliate's."""

    source: str
    source_label: str
    click_id: int | None = None
    at: datetime | None = None
    link: str = ""  # the link clicked: landing path + username ("/blog/x/alice")
    coupon: str = ""


def attribution(referral: Referral, *, click: Click | None, username: str) -> Attribution:
    link = ""
    if click is not None:
        link = click.landing_path.rstrip("/") + "/" + username
    return Attribution(
        source=referral.source,
        source_label=str(referral.get_source_display()),
        click_id=referral.click_id,
        at=referral.cookie_set_at or (click.at if click is not None else None),
        link=link,
        coupon=referral.coupon.code if referral.coupon is not None else "",
    )


@dataclass
class ReferralDetail:
    row: ReferralRow
    payments: list[Payment]
    refunds: list[Refund]
    disputes: list[Dispute]
    entries: list[CommissionEntry]
    why: Attribution


def referral_detail(
    *, affiliate_id: int, username: str, referral_id: int, now: datetime
) -> ReferralDetail | None:
    """One referral of this affiliate with its payments, refunds, disputes and this
    affiliate's entries, or None when it is not this affiliate's (the view answers 404)."""
    referral = with_figures(
        Referral.objects.filter(affiliate_id=affiliate_id, pk=referral_id).select_related("coupon"),
        now=now,
    ).first()
    if referral is None:
        return None
    revenue, commission = money_by_referral(affiliate_id=affiliate_id, referral_ids=[referral.pk])
    payments = list(Payment.objects.filter(referral_id=referral.pk).order_by("paid_at", "pk"))
    refunds = list(
        Refund.objects.filter(payment__referral_id=referral.pk)
        .select_related("payment")
        .order_by("refunded_at", "pk")
    )
    disputes = list(
        Dispute.objects.filter(payment__referral_id=referral.pk)
        .select_related("payment")
        .order_by("opened_at", "pk")
    )
    entries = list(
        _entries_of(
            affiliate_id=affiliate_id,
            referral_ids=[referral.pk],
            payment_ids=[payment.pk for payment in payments],
        ).order_by("created_at", "pk")
    )
    click = None
    if referral.click_id is not None:
        click = Click.objects.filter(pk=referral.click_id, affiliate_id=affiliate_id).first()
    return ReferralDetail(
        row=_row(referral, revenue, commission),
        payments=payments,
        refunds=refunds,
        disputes=disputes,
        entries=entries,
        why=attribution(referral, click=click, username=username),
    )
