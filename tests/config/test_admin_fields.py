"""The admin's money and rate inputs: what an input shows parses back to the stored integer,
in every currency exponent and language; malformed or over-precise input is refused."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import example, given
from hypothesis import strategies as st

from config.admin_fields import (
    MoneyField,
    RateField,
    money_input,
    parse_money,
    parse_rate,
    rate_input,
)
from config.money import MONEY_STYLES, exponent, format_money

LANGUAGES = st.sampled_from(sorted(MONEY_STYLES))
# One currency per exponent: JPY 0, USD 2, KWD 3.
CURRENCIES = st.sampled_from(["JPY", "USD", "KWD"])
AMOUNTS = st.integers(min_value=-(10**15), max_value=10**15)


@given(amount=AMOUNTS, currency=CURRENCIES, language=LANGUAGES)
@example(amount=10800, currency="USD", language="en")
@example(amount=5, currency="KWD", language="de")
@example(amount=-1, currency="JPY", language="fr")
def test_an_amount_shown_in_an_input_parses_back_to_the_same_minor_units(
    amount, currency, language
):
    assert parse_money(money_input(amount, currency, language), currency, language) == amount


@given(amount=AMOUNTS, currency=CURRENCIES, language=LANGUAGES)
def test_the_money_formatters_own_figure_parses_back_too(amount, currency, language):
    # "USD 1,234.50", "1.234,50 USD", "1 234,50 USD" (narrow NBSP): what every page shows.
    shown = format_money(amount, currency, language)
    assert parse_money(shown, currency, language) == amount


@given(bp=st.integers(min_value=0, max_value=2**31 - 1), language=LANGUAGES)
@example(bp=1250, language="en")
@example(bp=1, language="de")
def test_a_rate_shown_in_an_input_parses_back_to_the_same_basis_points(bp, language):
    assert parse_rate(rate_input(bp, language), language) == bp


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("108.00", "USD", 10800),
        ("108", "USD", 10800),
        ("1,080.50", "USD", 108050),  # 1080 × 100 + 50
        ("USD 12.5", "USD", 1250),
        ("0.25", "USD", 25),
        ("1080", "JPY", 1080),
        ("1,080", "JPY", 1080),
        ("1.250", "KWD", 1250),  # 1 dinar 250 fils
        ("0.005", "KWD", 5),
    ],
)
def test_what_people_type_in_english_reads_as_minor_units(text, currency, minor):
    assert parse_money(text, currency, "en") == minor


def test_german_marks_read_as_german():
    assert parse_money("1.080,50", "USD", "de") == 108050
    assert parse_rate("12,5 %", "de") == 1250


@pytest.mark.parametrize(("text", "bp"), [("20 %", 2000), ("20", 2000), ("12.5%", 1250)])
def test_percentages_read_as_basis_points(text, bp):
    assert parse_rate(text, "en") == bp


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("abc", "USD"),
        ("", "USD"),
        ("12.345", "USD"),  # a tenth of a cent
        ("108.5", "JPY"),  # the yen has no decimals
        ("1.2345", "KWD"),
        ("1,08", "USD"),  # a typo, not 108
        ("12.3.4", "USD"),
        ("1e3", "USD"),
        ("EUR 10", "USD"),
        ("108,00", "USD"),
    ],
)
def test_malformed_or_over_precise_amounts_are_refused(text, currency):
    with pytest.raises(ValidationError):
        parse_money(text, currency, "en")


@pytest.mark.parametrize("text", ["abc", "12.345", "12.5.%", "%", "1e2", "12,5"])
def test_malformed_or_over_precise_rates_are_refused(text):
    with pytest.raises(ValidationError):
        parse_rate(text, "en")


@given(text=st.text(max_size=12), currency=CURRENCIES)
def test_any_text_is_an_amount_or_a_validation_error_never_a_crash(text, currency):
    try:
        amount = parse_money(text, currency, "en")
    except ValidationError:
        return
    assert isinstance(amount, int)
    # What was accepted is exact: shown again, it is the same figure.
    assert parse_money(money_input(amount, currency, "en"), currency, "en") == amount
    assert len(money_input(amount, currency, "en").partition(".")[2]) == exponent(currency)


def test_the_fields_refuse_negatives_and_bound_the_figure():
    with translation.override("en"):
        money = MoneyField(currency="USD")
        with pytest.raises(ValidationError, match="0.00 or more"):
            money.clean("-5")
        with pytest.raises(ValidationError, match="or less"):
            money.clean("10000000001")  # 10^10 dollars = 10^12 cents + 100
        assert money.clean("108.00") == 10800
        assert money.prepare_value(10800) == "108.00"
        assert RateField().clean("12.5 %") == 1250
        assert RateField().prepare_value(1250) == "12.5 %"
        with pytest.raises(ValidationError, match="0 % or more"):
            RateField().clean("-1")
        assert RateField(required=False).clean("") is None
