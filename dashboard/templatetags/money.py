"""`{{ amount|money:currency }}`: integer minor units → "USD 1,234.50" (negative: "USD -12.50").

Integer arithmetic only: the amount is split with divmod, never divided as a float.
"""

from __future__ import annotations

from django import template

register = template.Library()

# ISO 4217 minor-unit exponents that are not 2 (the currencies we might meet).
EXPONENTS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "BHD": 3, "KWD": 3, "JOD": 3}


def format_money(amount: int, currency: str) -> str:
    currency = (currency or "").upper()
    exponent = EXPONENTS.get(currency, 2)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(int(amount)), 10**exponent)
    figure = f"{major:,}" + (f".{minor:0{exponent}d}" if exponent else "")
    return f"{currency} {sign}{figure}".strip()


@register.filter
def money(amount: int | None, currency: str) -> str:
    if amount is None or amount == "":
        return "—"
    return format_money(int(amount), currency)
