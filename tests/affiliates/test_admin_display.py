"""The admin's one way of showing money and rates (affiliates.admin_display)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from affiliates.admin_display import money, money_totals, rate


def test_money_is_the_one_formatter_with_its_currency():
    assert money(10800, "USD") == "USD 108.00"
    assert money(-1250, "EUR") == "EUR -12.50"
    assert money(1200, "JPY") == "JPY 1,200"  # no minor unit
    assert money(None, "USD") == "—"


def test_run_totals_read_one_figure_per_currency_never_summed():
    assert money_totals({"USD": 19065}) == "USD 190.65"
    assert money_totals({"USD": 19065, "EUR": 5000}) == "EUR 50.00, USD 190.65"
    assert money_totals({}) == "—"


def test_basis_points_read_as_percentages():
    assert rate(2000) == "20 %"
    assert rate(1250) == "12.5 %"
    assert rate(1) == "0.01 %"
    assert rate(0) == "0 %"
    assert rate(10_000) == "100 %"
    assert rate(None) == "—"


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_a_rate_reads_exactly_its_basis_points_over_100(bp):
    shown = rate(bp)

    figure = shown.removesuffix(" %").replace(",", "")
    assert Decimal(figure) == Decimal(bp) / 100
