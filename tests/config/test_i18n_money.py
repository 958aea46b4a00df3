"""format_money per language: integer arithmetic, CLDR-style separators and code position;
English unchanged ("USD 1,234.50"), the active language the default."""

import pytest
from django.template import Context, Template
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from config.money import MONEY_STYLES, format_money

NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(
    ("language", "amount", "currency", "shown"),
    [
        ("en", 123450, "USD", "USD 1,234.50"),
        ("de", 123450, "USD", f"1.234,50{NBSP}USD"),
        ("de", 10800, "USD", f"108,00{NBSP}USD"),
        ("de", -1250, "EUR", f"-12,50{NBSP}EUR"),
        ("fr", 123450, "EUR", f"1{NNBSP}234,50{NBSP}EUR"),
        # Spanish groups only from five digits: 1234 but 12.345.
        ("es", 123450, "EUR", f"1234,50{NBSP}EUR"),
        ("es", 1234500, "EUR", f"12.345,00{NBSP}EUR"),
        ("it", 123456789, "EUR", f"1.234.567,89{NBSP}EUR"),
        ("nl", -123450, "EUR", f"EUR{NBSP}-1.234,50"),
        ("pt", 123450, "BRL", f"BRL{NBSP}1.234,50"),
        ("ja", 1500, "JPY", f"JPY{NBSP}1,500"),
        ("ja", 123450, "USD", f"USD{NBSP}1,234.50"),
        ("de", 1234, "KWD", f"1,234{NBSP}KWD"),  # 3 decimals: 1.234 KWD
        ("pt-br", 5, "USD", f"USD{NBSP}0,05"),  # a regional code uses its language
        ("sv", 123450, "USD", "USD 1,234.50"),  # not offered: English
    ],
)
def test_each_language_writes_money_its_way(language, amount, currency, shown):
    assert format_money(amount, currency, language) == shown


def test_the_active_language_is_the_default():
    with translation.override("de"):
        assert format_money(123450, "USD") == f"1.234,50{NBSP}USD"
    assert format_money(123450, "USD") == "USD 1,234.50"


def test_the_money_filter_follows_the_active_language():
    template = Template("{% load money %}{{ amount|money:currency }}")

    with translation.override("fr"):
        shown = template.render(Context({"amount": 10800, "currency": "USD"}))

    assert shown == f"108,00{NBSP}USD"


def test_beyond_float_precision_every_language_is_exact():
    # 2**53 + 1 minor units = 90,071,992,547,409.93; a float would end in …09.92.
    assert format_money(2**53 + 1, "USD", "de") == f"90.071.992.547.409,93{NBSP}USD"


@given(
    amount=st.integers(min_value=-(10**15), max_value=10**15),
    language=st.sampled_from(sorted(MONEY_STYLES)),
)
def test_the_digits_are_always_the_amounts(amount, language):
    shown = format_money(amount, "USD", language)

    digits = "".join(ch for ch in shown if ch.isdigit())
    assert int(digits) == abs(amount)
    assert shown.count("-") == (1 if amount < 0 else 0)
