"""How the admin shows money, rates and lists: one place, used by every app's admin.

Money goes through `config.money.format_money` (10800 USD → "USD 108.00"), never a raw
integer; rates are basis points shown as percentages (2000 → "20 %"). The helpers build
`list_display` / `readonly_fields` callables, so a column and the detail page read alike.
This module sits in the lowest app (affiliates) so that every app's admin may use it; it
reads no table of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from affiliates.models import Affiliate
from config.money import format_money

DASH = "—"


def money(amount: int | None, currency: str) -> str:
    """Minor units → "USD 108.00"; None (not known yet) → "—"."""
    if amount is None:
        return DASH
    return format_money(int(amount), currency)


def money_totals(totals: Mapping[str, int] | None) -> str:
    """{"USD": 19065, "EUR": 5000} → "EUR 50.00, USD 190.65": one figure per currency,
    never summed across currencies."""
    if not totals:
        return DASH
    return ", ".join(format_money(int(v), c) for c, v in sorted(totals.items()))


def rate(bp: int | None) -> str:
    """Basis points → a percentage in integers only: 2000 → "20 %", 1250 → "12.5 %",
    1 → "0.01 %"; None → "—"."""
    if bp is None:
        return DASH
    sign = "-" if bp < 0 else ""
    whole, hundredths = divmod(abs(int(bp)), 100)
    fraction = f"{hundredths:02d}".rstrip("0")
    return f"{sign}{whole:,}{'.' + fraction if fraction else ''} %"


def short_time(value: Any) -> str:
    """A datetime in the locale's short form, in the current time zone; dates as dates."""
    if value is None:
        return DASH
    if hasattr(value, "tzinfo"):
        return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    return date_format(value, "SHORT_DATE_FORMAT")


def money_column(
    field: str, *, currency: str = "currency", description: str | None = None
) -> Callable[[Model], str]:
    """A list / readonly column showing `field` (minor units) in the row's `currency`
    field (or a fixed ISO code when `currency` is three capitals), sortable by `field`."""
    fixed = currency if len(currency) == 3 and currency.isupper() else None

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(obj: Model) -> str:
        return money(getattr(obj, field), fixed or getattr(obj, currency))

    column.__name__ = f"{field}_money"
    return column


def rate_column(field: str, *, description: str | None = None) -> Callable[[Model], str]:
    @admin.display(description=description or field.replace("_bp", "").replace("_", " "))
    def column(obj: Model) -> str:
        return rate(getattr(obj, field))

    column.admin_order_field = field  # type: ignore[attr-defined]
    column.__name__ = f"{field}_percent"
    return column


def time_column(field: str, *, description: str | None = None) -> Callable[[Model], str]:
    """A compact date-time column (the admin's default is long: "Nov. 2, 2026, noon")."""

    @admin.display(description=description or field.replace("_at", "").replace("_", " "))
    def column(obj: Model) -> str:
        return short_time(getattr(obj, field))

    column.admin_order_field = field  # type: ignore[attr-defined]
    column.__name__ = f"{field}_short"
    return column


def link(url: str, text: Any) -> SafeString:
    return format_html('<a href="{}">{}</a>', url, text)


def table(headers: Iterable[str], rows: Iterable[Iterable[Any]], *, empty: str) -> SafeString:
    """A small read-only table for a detail page (rows already formatted; escaped here)."""
    rows = list(rows)
    if not rows:
        return format_html("<p>{}</p>", empty)
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    return format_html(
        '<div class="amb-table"><table><thead><tr>{}</tr></thead><tbody>{}</tbody></table></div>',
        head,
        body,
    )


class NoDeleteMixin:
    """Money records are never deleted, whoever asks (superusers included): the delete
    button, the delete page and the bulk "delete selected" action all go."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AffiliateListFilter(admin.SimpleListFilter):
    """`?affiliate=<pk>` from the affiliate's page ("its referrals, entries, payouts"): the
    sidebar names the affiliate being filtered on, and a junk value filters nothing."""

    title = "affiliate"
    parameter_name = "affiliate"
    field = "affiliate_id"

    def _pk(self) -> int | None:
        value = self.value()
        return int(value) if value and value.isdigit() and len(value) < 19 else None

    def lookups(self, request, model_admin):
        pk = self._pk()
        if pk is None:
            return []
        return [(str(a.pk), a.username) for a in Affiliate.objects.filter(pk=pk).only("username")]

    def queryset(self, request, queryset):
        pk = self._pk()
        if pk is None:
            return queryset
        return queryset.filter(**{self.field: pk})
