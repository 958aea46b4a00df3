"""`{{ amount|money:currency }}`: integer minor units in the active language's way: en
"USD 1,234.50" (negative "USD -12.50"), de "1.234,50 USD", fr "1 234,50 USD".

The formatting itself is `config.money.format_money`, so code outside the dashboard
(the payouts admin) formats money the same way without importing the dashboard.
"""

from __future__ import annotations

from django import template

from config.money import format_money

register = template.Library()


@register.filter
def money(amount: int | None, currency: str) -> str:
    if amount is None or amount == "":
        return "—"
    return format_money(int(amount), currency)
