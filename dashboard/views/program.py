"""The staff's program dashboard (/dashboard/program/) and its CSV exports
(/dashboard/program/<table>.csv). Reads only; every figure comes from dashboard.selectors.

Each table on the page has one CSV with the same rows (`TABLES` names them): money as plain
decimal strings (config.money.to_decimal_string) beside its currency, ratios as percentages
to a tenth, written through config.spreadsheet (formula-safe). Payout destinations (PayPal
e-mails, Connect account ids) appear only for users with
`payouts.export_payout_destinations` (Program managers; never Support).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from config.db_router import replica_reads
from config.money import to_decimal_string
from config.spreadsheet import csv_writer
from dashboard import charts, selectors
from dashboard.selectors import PERIOD_CHOICES, customers, roi
from dashboard.selectors import program as figures
from dashboard.views.common import request_period, staff_required, today

Table = tuple[list[str], list[list[Any]]]


def _can_see_destinations(request: HttpRequest) -> bool:
    return request.user.has_perm("payouts.export_payout_destinations")


class _Context(dict[str, Any]):
    """The page's figures, each computed on first use (`BUILDERS`): a CSV reads only the
    figures of its own table, the page all of them (`everything`)."""

    def __init__(self, request: HttpRequest) -> None:
        super().__init__()
        self.request = request
        self["period"] = request_period(request)
        self["currency"] = settings.PROGRAM_CURRENCY

    def __missing__(self, key: str) -> Any:
        value = BUILDERS[key](self)
        self[key] = value
        return value

    def everything(self) -> dict[str, Any]:
        return {key: self[key] for key in (*BUILDERS, "period", "currency")}


def _other_rows(c: _Context) -> list[dict[str, Any]]:
    summary = c["summary"]
    return [
        {
            "currency": cur,
            "amounts": [
                *(summary["states"].get(cur, {}).get(state, 0) for state in figures.STATES),
                summary["sent"].get(cur, {}).get("amount", 0),
                summary["owed"].get(cur, 0),
            ],
        }
        for cur in summary["other_currencies"]
    ]


def _roi_by_month(c: _Context) -> dict[str, Any]:
    start, end = roi.roi_window(c["period"])
    months, total = roi.roi_by_month(start=start, end=end)
    return {"months": months, "total": total}


BUILDERS: dict[str, Callable[[_Context], Any]] = {
    # The referrals marked for the summary sweeper, read once for the tiles and the table.
    "customers_due": lambda c: customers.due_shares(),
    "summary": lambda c: figures.program_summary(period=c["period"], due=c["customers_due"]),
    "other_currency_rows": _other_rows,
    "period_choices": lambda c: PERIOD_CHOICES,
    "totals": lambda c: c["summary"]["totals"],
    "trend": lambda c: figures.trend(period=c["period"]),
    "affiliate_rows": lambda c: figures.affiliate_rows(
        period=c["period"], today=today(), due=c["customers_due"]
    ),
    "program_row": lambda c: figures.lifetime_totals(c["affiliate_rows"]),
    "top_affiliates": lambda c: figures.top_by(c["affiliate_rows"], "revenue"),
    "top_by_clicks": lambda c: figures.top_by(c["affiliate_rows"], "clicks"),
    "top_by_conversion": lambda c: figures.top_by(c["affiliate_rows"], "conversion"),
    "min_clicks_for_conversion": lambda c: figures.MIN_CLICKS_FOR_CONVERSION,
    "top_paths": lambda c: selectors.top_paths(period=c["period"], limit=10),
    "top_referrers": lambda c: selectors.top_referrers(period=c["period"], limit=10),
    "applications_waiting": lambda c: figures.applications_waiting(),
    "forecast": lambda c: figures.payout_forecast(now=timezone.now()),
    "show_destinations": lambda c: _can_see_destinations(c.request),
    "retention_months": lambda c: list(figures.RETENTION_DAYS),
    "retention_grace_days": lambda c: figures.RETENTION_GRACE_DAYS,
    "roi_by_month": _roi_by_month,
}


def _chart(context: dict[str, Any]) -> dict[str, Any]:
    period, days = context["period"], context["trend"]
    return charts.line_chart(
        title=_("Revenue and commission"),
        days=period.each_day(),
        series=[
            charts.Series(_("Referred revenue"), [d["revenue"] for d in days], kind="bar"),
            charts.Series(_("Commission"), [d["commission"] for d in days]),
        ],
        money_currency=context["currency"],
        chart_id="program-money",
    )


def _activity_chart(context: dict[str, Any]) -> dict[str, Any]:
    period, days = context["period"], context["trend"]
    return charts.line_chart(
        title=_("Clicks, signups and new paying customers"),
        days=period.each_day(),
        series=[
            charts.Series(_("Clicks"), [d["clicks"] for d in days]),
            charts.Series(_("Signups"), [d["signups"] for d in days]),
            charts.Series(_("New paying customers"), [d["first_payments"] for d in days]),
        ],
        chart_id="program-activity",
    )


@replica_reads
@staff_required
def program(request: HttpRequest) -> HttpResponse:
    context = _Context(request).everything()
    context["money_chart"] = _chart(context)
    context["activity_chart"] = _activity_chart(context)
    context["csv_tables"] = list(TABLES)
    return render(request, "dashboard/program.html", context)


# --- CSV ------------------------------------------------------------------------------------


def _money(amount: int | None, currency: str) -> str:
    return "" if amount is None else to_decimal_string(amount, currency)


def _pct(text: str) -> str:
    return "" if text == figures.DASH else text


def _summary_table(c: dict[str, Any]) -> Table:
    s, cur = c["summary"], c["currency"]
    t = s["totals"]
    rows: list[list[Any]] = [
        ["clicks", t["clicks"], ""],
        ["unique_clicks", t["unique_clicks"], ""],
        ["signups", t["signups"], ""],
        ["conversion_percent", _pct(s["conversion"]), ""],
        ["paying_customers", s["paying_customers"], ""],
        ["new_paying_customers", t["first_payments"], ""],
        ["referred_revenue", _money(t["revenue"], cur), cur],
        ["commission", _money(t["commission"], cur), cur],
        ["roi_percent", _pct(s["roi"]), ""],
        ["cost_per_new_paying_customer", _money(s["cac"], cur), cur],
        ["earnings_per_click", _money(s["epc"], cur), cur],
        ["applications_waiting", c["applications_waiting"], ""],
    ]
    return ["figure", "value", "currency"], rows


def _commissions_table(c: dict[str, Any]) -> Table:
    rows = [
        [cur, *(_money(per[s], cur) for s in figures.STATES), _money(sum(per.values()), cur)]
        for cur, per in c["summary"]["states"].items()
    ]
    return ["currency", "pending", "approved", "in_payout", "paid", "total"], rows


def _payouts_table(c: dict[str, Any]) -> Table:
    s = c["summary"]
    currencies = sorted(set(s["sent"]) | set(s["owed"]))
    rows = [
        [
            cur,
            s["sent"].get(cur, {}).get("count", 0),
            _money(s["sent"].get(cur, {}).get("amount", 0), cur),
            _money(s["owed"].get(cur, 0), cur),
        ]
        for cur in currencies
    ]
    return ["currency", "payouts_sent", "amount_sent", "owed_now"], rows


def _trend_table(c: dict[str, Any]) -> Table:
    cur = c["currency"]
    fields = selectors.TOTAL_FIELDS
    rows: list[list[Any]] = []
    for d in c["trend"]:
        rows.append(
            [d["day"].isoformat()]
            + [_money(d[f], cur) if f in ("revenue", "commission") else d[f] for f in fields]
        )
    t = c["totals"]
    rows.append(
        ["total"] + [_money(t[f], cur) if f in ("revenue", "commission") else t[f] for f in fields]
    )
    return ["day", *fields[:4], f"revenue_{cur}", f"commission_{cur}"], rows


def _roi_table(c: dict[str, Any]) -> Table:
    cur = c["currency"]
    rows: list[list[Any]] = []
    found = c["roi_by_month"]
    for r in [*found["months"], found["total"]]:
        rows.append(
            [
                r.month.strftime("%Y-%m") if r.month is not None else "total",
                r.start.isoformat(),
                r.end.isoformat(),
                _money(r.revenue, cur),
                _money(r.commission, cur),
                _money(r.payouts, cur),
                _pct(r.roi),
            ]
        )
    header = ["month", "from", "to", f"referred_revenue_{cur}", f"commissions_{cur}"]
    return [*header, f"payouts_{cur}", "roi_percent"], rows


def _affiliate_values(r: figures.AffiliateRow, cur: str, months: list[int]) -> list[Any]:
    return [
        r.clicks,
        r.unique_clicks,
        r.signups,
        _pct(r.conversion),
        r.first_payments,
        r.paying_customers,
        _money(r.revenue, cur),
        _money(r.commission, cur),
        _money(r.epc, cur),
        r.lifetime_customers,
        _money(r.lifetime_revenue, cur),
        _money(r.ltv, cur),
        *(_pct(r.retained(m)) for m in months),
    ]


def _affiliates_table(c: dict[str, Any]) -> Table:
    cur, months = c["currency"], c["retention_months"]
    header = [
        "affiliate",
        "clicks",
        "unique_clicks",
        "signups",
        "conversion_percent",
        "new_paying_customers",
        "paying_customers",
        f"revenue_{cur}",
        f"commission_{cur}",
        f"epc_{cur}",
        "lifetime_paying_customers",
        f"lifetime_revenue_{cur}",
        f"ltv_{cur}",
        *(f"retention_{m}m_percent" for m in months),
    ]
    rows = [[r.username, *_affiliate_values(r, cur, months)] for r in c["affiliate_rows"]]
    rows.append(["total", *_affiliate_values(c["program_row"], cur, months)])
    return header, rows


def _top_table(key: str) -> Callable[[dict[str, Any]], Table]:
    def build(c: dict[str, Any]) -> Table:
        cur = c["currency"]
        rows = [
            [
                n,
                r.username,
                r.clicks,
                r.unique_clicks,
                r.signups,
                _pct(r.conversion),
                _money(r.revenue, cur),
                _money(r.commission, cur),
            ]
            for n, r in enumerate(c[key], start=1)
        ]
        header = ["rank", "affiliate", "clicks", "unique_clicks", "signups"]
        return [*header, "conversion_percent", f"revenue_{cur}", f"commission_{cur}"], rows

    return build


def _breakdown_table(key: str, label: str) -> Callable[[dict[str, Any]], Table]:
    def build(c: dict[str, Any]) -> Table:
        rows = [[r["name"], r["clicks"], r["unique_clicks"], r["signups"]] for r in c[key]]
        return [label, "clicks", "unique_clicks", "signups"], rows

    return build


def _forecast_table(c: dict[str, Any]) -> Table:
    f = c["forecast"]
    rows: list[list[Any]] = [
        [cur, method, n, _money(amount, cur)] for cur, method, n, amount in f["by_method"]
    ]
    rows += [[cur, "held", n, _money(amount, cur)] for cur, n, amount in f["held"]]
    return ["currency", "method", "payouts", "amount"], rows


def _forecast_affiliates_table(c: dict[str, Any]) -> Table:
    header = ["affiliate", "currency", "method", "amount", "held_because"]
    if c["show_destinations"]:
        header.append("destination")
    rows = []
    for r in c["forecast"]["rows"]:
        row = [r.username, r.currency, r.method, _money(r.amount, r.currency), r.reason]
        if c["show_destinations"]:
            row.append(r.destination)
        rows.append(row)
    return header, rows


TABLES: dict[str, Callable[[dict[str, Any]], Table]] = {
    "summary": _summary_table,
    "commissions": _commissions_table,
    "payouts": _payouts_table,
    "trend": _trend_table,
    "roi-by-month": _roi_table,
    "affiliates": _affiliates_table,
    "top-revenue": _top_table("top_affiliates"),
    "top-clicks": _top_table("top_by_clicks"),
    "top-conversion": _top_table("top_by_conversion"),
    "landing-pages": _breakdown_table("top_paths", "path"),
    "referrers": _breakdown_table("top_referrers", "domain"),
    "forecast": _forecast_table,
    "forecast-affiliates": _forecast_affiliates_table,
}


@replica_reads
@staff_required
def program_csv(request: HttpRequest, table: str) -> HttpResponse:
    build = TABLES.get(table)
    if build is None:
        raise Http404("No such table.")
    context = _Context(request)
    header, rows = build(context)
    period = context["period"]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"program-{table}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv_writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response
