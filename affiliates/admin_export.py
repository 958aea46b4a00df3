"""The admin's "Export selected as CSV" actions (affiliates, referrals, ledger entries).

Cells go through config.spreadsheet (an affiliate types its username, website and texts:
never run as a formula on the admin's machine). Amounts are written as plain decimals of
their currency beside it ("108.00", "USD"), as the payout exports do, so a spreadsheet adds
them up; they are never summed across currencies here.

Who: program managers (the model's change permission). Support reads every list in admin
but acts on none, and an export is a copy of the data leaving the admin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin
from django.http import HttpResponse
from django.utils import timezone

from config.money import to_decimal_string
from config.spreadsheet import csv_writer

Column = tuple[str, Callable[[Any], Any]]


def decimal(amount: int | None, currency: str) -> str:
    return "" if amount is None else to_decimal_string(int(amount), currency)


def stamp(value: Any) -> str:
    """ISO 8601 (UTC for datetimes): what a spreadsheet and a script both read."""
    if value is None:
        return ""
    return value.isoformat()


def csv_response(filename: str, header: Iterable[str], rows: Iterable[Iterable[Any]]):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv_writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def export_action(
    *, name: str, columns: list[Column], prepare: Callable[[Any], Any] | None = None
) -> Callable:
    """An admin action writing the selected rows as `<name>-<date>.csv`. `prepare` narrows
    the queryset's reads (select_related / annotate), so the export's query count does not
    grow with the rows."""

    @admin.action(description=f"Export selected {name} as CSV", permissions=["export"])
    def export_csv(modeladmin, request, queryset):
        rows = prepare(queryset) if prepare else queryset
        filename = f"{name}-{timezone.now():%Y-%m-%d}.csv"
        return csv_response(
            filename,
            [title for title, _ in columns],
            ([value(obj) for _, value in columns] for obj in rows.iterator(chunk_size=2000)),
        )

    export_csv.__name__ = "export_csv"
    return export_csv


class ExportMixin:
    """`has_export_permission` for the actions above: the model's change permission."""

    def has_export_permission(self, request) -> bool:
        opts = self.opts  # type: ignore[attr-defined]
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")
