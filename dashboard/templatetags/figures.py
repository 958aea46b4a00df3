"""Ratios on the dashboards, to one decimal, rounded half away from zero with integers only.

`{{ signups|percent:unique_clicks }}` → "12.5%" (de "12,5 %", fr "12,5 %": the language's
decimal mark and percent sign, config.money.with_percent_sign); `{{ revenue|ratio:commission }}`
→ "3.2"; "—" when the denominator is 0. `{{ figure|percent_sign }}` adds the sign to a figure
computed elsewhere (dashboard.selectors.program.percent_text), leaving "—" alone.
"""

from __future__ import annotations

from django import template
from django.utils.formats import get_format

from config.money import with_percent_sign

register = template.Library()

DASH = "—"


def tenths(numerator: int, denominator: int) -> int:
    """numerator / denominator in tenths, rounded half away from zero (denominator ≠ 0)."""
    negative = (numerator < 0) != (denominator < 0)
    q, r = divmod(abs(numerator) * 10, abs(denominator))
    if 2 * r >= abs(denominator):
        q += 1
    return -q if negative else q


def format_tenths(value: int) -> str:
    """Tenths as a decimal in the active language's separators ("1,234.5"; de "1.234,5")."""
    sign = "-" if value < 0 else ""
    whole, tenth = divmod(abs(value), 10)
    grouped = f"{whole:,}".replace(",", str(get_format("THOUSAND_SEPARATOR")))
    return f"{sign}{grouped}{get_format('DECIMAL_SEPARATOR')}{tenth}"


@register.filter
def percent(part: int | None, whole: int | None) -> str:
    if not whole:
        return DASH
    return with_percent_sign(format_tenths(tenths(100 * int(part or 0), int(whole))))


@register.filter
def percent_sign(figure: str) -> str:
    return figure if figure == DASH else with_percent_sign(str(figure))


@register.filter
def ratio(numerator: int | None, denominator: int | None) -> str:
    if not denominator:
        return DASH
    return format_tenths(tenths(int(numerator or 0), int(denominator)))
