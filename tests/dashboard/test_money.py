"""The money, percent and ratio filters: integer arithmetic, one format everywhere."""

import pytest
from django.template import Context, Template
from django.utils import translation

from dashboard.templatetags.figures import percent, percent_sign, ratio
from dashboard.templatetags.money import format_money, money


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (1250, "USD", "USD 12.50"),
        (-1250, "USD", "USD -12.50"),
        (5, "EUR", "EUR 0.05"),
        (-5, "EUR", "EUR -0.05"),
        (0, "GBP", "GBP 0.00"),
        (123456789, "USD", "USD 1,234,567.89"),
        (1500, "JPY", "JPY 1,500"),
        (1234, "KWD", "KWD 1.234"),
        (1250, "usd", "USD 12.50"),
    ],
)
def test_minor_units_are_shown_as_money_with_the_currency_code(amount, currency, shown):
    assert format_money(amount, currency) == shown


def test_amounts_beyond_float_precision_are_exact():
    # 2**53 + 1 is the first integer a float cannot hold; no float ever touches it.
    assert format_money(2**53 + 1, "USD") == "USD 90,071,992,547,409.93"


def test_a_missing_amount_is_a_dash():
    assert money(None, "USD") == "—"


def test_the_money_filter_is_used_as_amount_pipe_money_currency():
    template = Template("{% load money %}{{ amount|money:currency }}")

    shown = template.render(Context({"amount": -1250, "currency": "USD"}))

    assert shown == "USD -12.50"


@pytest.mark.parametrize(
    ("part", "whole", "shown"),
    [
        (1, 8, "12.5%"),  # 12.5 exactly
        (2, 12, "16.7%"),  # 16.66… rounds up
        (1, 3, "33.3%"),  # 33.33… rounds down
        (1, 1600, "0.1%"),  # 0.0625 → 0.1 (half-up at the tenth)
        (0, 10, "0.0%"),
        (5, 0, "—"),  # no unique clicks: no conversion rate
    ],
)
def test_conversion_is_a_percentage_with_one_decimal(part, whole, shown):
    assert percent(part, whole) == shown


@pytest.mark.parametrize(
    ("revenue", "commission", "shown"),
    [
        (10_000, 2_500, "4.0"),
        (10_000, 3_000, "3.3"),  # 3.33…
        (10_000, 6_000, "1.7"),  # 1.66…
        (10_000, 0, "—"),
        (10_000, -4_000, "-2.5"),  # clawbacks above earnings: shown, with its sign
    ],
)
def test_roi_is_revenue_over_commission_with_one_decimal(revenue, commission, shown):
    assert ratio(revenue, commission) == shown


NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(
    ("lang", "shown"),
    [
        # CLDR's percent patterns: the language's decimal mark; a no-break space before the
        # sign in German and Spanish, a narrow one in French, none in the others.
        ("en", "12.5%"),
        ("de", f"12,5{NBSP}%"),
        ("fr", f"12,5{NNBSP}%"),
        ("es", f"12,5{NBSP}%"),
        ("it", "12,5%"),
        ("nl", "12,5%"),
        ("pt", "12,5%"),
        ("ja", "12.5%"),
        ("pt-br", "12,5%"),  # a regional variant writes as its language
    ],
)
def test_a_percentage_is_written_as_each_language_writes_it(lang, shown):
    with translation.override(lang):
        assert percent(1, 8) == shown  # 1 / 8 = 12.5 %
        assert percent_sign(percent(1, 8).rstrip(f"%{NBSP}{NNBSP}")) == shown
        assert percent_sign("—") == "—"  # no figure, no sign


def test_a_rate_in_the_template_follows_the_language():
    template = Template(
        "{% load figures i18n %}{% language 'fr' %}{{ bp|percent:10000 }}{% endlanguage %}"
    )

    # 1250 bp = 12.5 %
    assert template.render(Context({"bp": 1250})) == f"12,5{NNBSP}%"
