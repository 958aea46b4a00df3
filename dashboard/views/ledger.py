"""The affiliate's referrals (list and drill-down), commission history and payouts, with
their CSV exports. Reads only; every figure comes from dashboard.selectors. Own rows only:
every read is scoped to request.affiliate, and another affiliate's referral is a 404.

Query parameters are free input: a junk sort, state, kind, page or period falls back to
its default, never to an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.http import urlencode
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from affiliates.access import affiliate_required
from commissions.models import CommissionEntry
from config.db_router import replica_reads
from config.money import format_money
from config.spreadsheet import csv_writer
from dashboard import selectors
from dashboard.selectors import Period
from dashboard.selectors import ledger as ledger_selectors
from dashboard.selectors import referrals as referral_selectors
from dashboard.views.common import request_period, today
from payouts.models import Payout

MAX_PARAM = 200  # characters kept of a free-text parameter


def _param(request: HttpRequest, name: str) -> str:
    # NUL is dropped: PostgreSQL refuses it in a text parameter (an error, not a miss).
    return (request.GET.get(name) or "").replace("\x00", "").strip()[:MAX_PARAM]


def _query_without(request: HttpRequest, *names: str) -> str:
    """The current query string without `names` (for sort and page links)."""
    kept = [(k, v) for k, v in request.GET.items() if k not in names]
    return urlencode(kept)


REFERRAL_COLUMNS = [
    ("customer", _("Customer"), False),
    ("plan", _("Plan"), False),
    ("status", _("Status"), False),
    ("signup", pgettext_lazy("date heading", "Signed up"), False),
    ("first_payment", pgettext_lazy("date heading", "First payment"), False),
    ("revenue", _("Revenue"), True),
    ("commission", _("Commission"), True),
]
# Every column sorts, on the referral's stored summary (dashboard.selectors.referrals); a
# column not in its SORTS would get a plain-text header (href "").


def _sort_headers(request: HttpRequest, sort: str) -> list[dict[str, Any]]:
    """Each sortable column's header: a link that sorts by it (descending first for dates
    and money, ascending for text), or flips the direction when it is the current sort."""
    base = _query_without(request, "sort", "page")
    headers = []
    for key, label, numeric in REFERRAL_COLUMNS:
        if key not in referral_selectors.SORTS:
            headers.append({"key": key, "label": label, "href": "", "sort": "", "num": numeric})
            continue
        if sort.removeprefix("-") == key:
            target = key if sort.startswith("-") else f"-{key}"
            direction = "descending" if sort.startswith("-") else "ascending"
        else:
            target = key if key in ("customer", "plan", "status") else f"-{key}"
            direction = ""
        query = f"{base}&sort={target}" if base else f"sort={target}"
        headers.append(
            {"key": key, "label": label, "href": f"?{query}", "sort": direction, "num": numeric}
        )
    return headers


# Django's date-format letters that strftime writes alike (zero-padded day and month, the
# year); every SHORT_DATE_FORMAT of the eight languages uses only these and separators.
_STRFTIME = {"d": "%d", "m": "%m", "Y": "%Y", "y": "%y"}


def short_date_formatter(fmt: str) -> Callable[[datetime], str]:
    """A function formatting a datetime as `fmt` (a Django date format) says: strftime when
    the format has only the letters above (a tenth of dateformat.format's cost, which a list
    of 50 rows pays twice a row), dateformat.format for anything else."""
    if all(ch in _STRFTIME or not ch.isalpha() for ch in fmt) and not set(fmt) & {"\\", "%"}:
        pattern = "".join(_STRFTIME.get(ch, ch) for ch in fmt)
        return lambda moment: moment.strftime(pattern)
    return lambda moment: dateformat.format(moment, fmt)


@replica_reads
@affiliate_required
def referrals(request: HttpRequest) -> HttpResponse:
    search = _param(request, "q")
    status = _param(request, "status")
    status = status if status in referral_selectors.STATUSES else ""
    sort = referral_selectors.clean_sort(request.GET.get("sort"))
    page, rows = referral_selectors.referral_page(
        affiliate_id=request.affiliate.pk,
        now=timezone.now(),
        search=search,
        sort=sort,
        status=status,
        page=request.GET.get("page"),
    )
    drill_down = reverse("dashboard-referral", kwargs={"pk": 0}).removesuffix("0/")
    # looked up once, not per cell as |date does
    day = short_date_formatter(get_format("SHORT_DATE_FORMAT"))
    for row in rows:
        row.url = f"{drill_down}{row.pk}/"
        row.signed_up_text = day(localtime(row.signed_up_at))
        if row.first_paid_at is not None:
            row.first_paid_text = day(localtime(row.first_paid_at))
        row.revenue_text = "".join(format_money(a, code) for code, a in row.revenue[:1])
        row.commission_text = "".join(format_money(a, code) for code, a in row.commission[:1])
    return render(
        request,
        "dashboard/referrals.html",
        {
            "affiliate": request.affiliate,
            "page": page,
            "rows": rows,
            "status": status,
            "statuses": list(referral_selectors.STATUS_LABELS.items()),
            "search": search,
            "sort": sort,
            "headers": _sort_headers(request, sort),
            "sort_query": _query_without(request, "sort", "page"),
            "page_query": _query_without(request, "page"),
            "paying_window": referral_selectors.PAYING_WINDOW_DAYS,
            "program_currency": settings.PROGRAM_CURRENCY,
        },
    )


@replica_reads
@affiliate_required
def referral(request: HttpRequest, pk: int) -> HttpResponse:
    detail = referral_selectors.referral_detail(
        affiliate_id=request.affiliate.pk,
        username=request.affiliate.username,
        referral_id=pk,
        now=timezone.now(),
    )
    if detail is None:
        raise Http404("No such referral.")
    entries = [(entry, ledger_selectors.rate_words(entry)) for entry in detail.entries]
    return render(
        request,
        "dashboard/referral.html",
        {"affiliate": request.affiliate, "detail": detail, "entries": entries},
    )


def _period(request: HttpRequest) -> Period:
    """The shared ?range= period; a history page without one shows all time."""
    if "range" not in request.GET and "days" not in request.GET:
        return selectors.period_from_query(
            {"range": "all"}, today=today(), affiliate_id=request.affiliate.pk
        )
    return request_period(request)


def _entry_filter(request: HttpRequest) -> dict[str, Any]:
    state = _param(request, "state")
    kind = _param(request, "kind")
    return {
        "state": state if state in ledger_selectors.STATES else "",
        "kind": kind if kind in ledger_selectors.KINDS else "",
        "period": _period(request),
    }


@replica_reads
@affiliate_required
def commissions(request: HttpRequest) -> HttpResponse:
    chosen = _entry_filter(request)
    entries = ledger_selectors.entries_for(affiliate_id=request.affiliate.pk, **chosen)
    totals = ledger_selectors.totals_for(entries, affiliate_id=request.affiliate.pk, **chosen)
    page = ledger_selectors.entry_page(entries, page=request.GET.get("page"), totals=totals)
    return render(
        request,
        "dashboard/commissions.html",
        {
            "affiliate": request.affiliate,
            **chosen,
            "page": page,
            "rows": [(e, ledger_selectors.rate_words(e)) for e in page.object_list],
            "totals": totals,
            "states": CommissionEntry.State.choices,
            "kinds": CommissionEntry.Kind.choices,
            "ranges": RANGE_LABELS,
            "page_query": _query_without(request, "page"),
            "csv_query": _query_without(request, "page"),
        },
    )


RANGE_LABELS = [
    ("all", _("All time")),
    ("today", _("Today")),
    ("7", _("Last 7 days")),
    ("30", _("Last 30 days")),
    ("90", _("Last 90 days")),
    ("custom", _("Custom dates")),
]


class _Echo:
    """A file-like object whose write() returns the line, for streaming a CSV."""

    def write(self, value: str) -> str:
        return value


def _stream_csv(rows: Iterable[Iterable[Any]], filename: str) -> StreamingHttpResponse:
    writer = csv_writer(_Echo())

    def lines() -> Iterator[str]:
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@replica_reads
@affiliate_required
def commissions_csv(request: HttpRequest) -> StreamingHttpResponse:
    entries = ledger_selectors.entries_for(
        affiliate_id=request.affiliate.pk, **_entry_filter(request)
    )
    return _stream_csv(ledger_selectors.entry_csv_rows(entries), "commissions.csv")


@replica_reads
@affiliate_required
def payouts(request: HttpRequest) -> HttpResponse:
    state = _param(request, "state")
    rows = ledger_selectors.payouts_for(affiliate_id=request.affiliate.pk, state=state)
    page = ledger_selectors.payout_page(rows, page=request.GET.get("page"))
    return render(
        request,
        "dashboard/payouts.html",
        {
            "affiliate": request.affiliate,
            "state": state if state in ledger_selectors.PAYOUT_STATES else "",
            "states": Payout.State.choices,
            "page": page,
            "payouts": [(p, ledger_selectors.payout_destination(p)) for p in page.object_list],
            "totals": ledger_selectors.payout_totals(rows),
            "page_query": _query_without(request, "page"),
            "csv_query": _query_without(request, "page"),
        },
    )


@replica_reads
@affiliate_required
def payouts_csv(request: HttpRequest) -> StreamingHttpResponse:
    rows = ledger_selectors.payouts_for(
        affiliate_id=request.affiliate.pk, state=_param(request, "state")
    )
    return _stream_csv(ledger_selectors.payout_csv_rows(rows), "payouts.csv")
