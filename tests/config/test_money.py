"""config.money is the one money module: one exponent table for display, exports and
providers, integer arithmetic only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.money import EXPONENTS, exponent, format_money, to_decimal_string

CURRENCIES = st.sampled_from(["USD", "EUR", "JPY", "VND", "KWD", "JOD", "HUF", "TWD", "CLF"])


@pytest.mark.parametrize(
    ("currency", "places"),
    # ISO 4217: the yen and the dong have no minor unit, the dinars have 3 decimals, the
    # forint and the new Taiwan dollar have 2 (PayPal's "no decimals" is PayPal's rule).
    [("USD", 2), ("JPY", 0), ("VND", 0), ("KWD", 3), ("JOD", 3), ("HUF", 2), ("TWD", 2)],
)
def test_exponents_follow_iso_4217(currency, places):
    assert exponent(currency) == places
    assert exponent(currency.lower()) == places


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1250, "USD", "12.50"),  # 1250 cents = 12.50
        (-5, "USD", "-0.05"),
        (1250, "JPY", "1250"),  # no minor unit
        (1250, "KWD", "1.250"),  # 1250 fils = 1.250 dinar
        (0, "EUR", "0.00"),
    ],
)
def test_decimal_strings_for_providers(amount, currency, text):
    assert to_decimal_string(amount, currency) == text


@given(amount=st.integers(min_value=-(10**15), max_value=10**15), currency=CURRENCIES)
def test_the_decimal_string_and_the_display_agree_and_round_trip(amount, currency):
    text = to_decimal_string(amount, currency)

    assert Decimal(text).scaleb(exponent(currency)) == amount
    assert format_money(amount, currency).replace(",", "") == f"{currency} {text}"


def test_the_table_lists_only_exponents_other_than_two():
    assert 2 not in EXPONENTS.values()
