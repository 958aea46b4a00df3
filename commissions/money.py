"""Money arithmetic: integer minor units only. The one rounding rule (half-up, away from zero
for negatives) lives here and every amount the ledger writes goes through it, once."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

BP_DENOMINATOR = 10_000  # basis points: 10_000 bp = 100 %


def round_half_up(value: Decimal | int) -> int:
    """Round to a whole minor unit, half away from zero: 12.5 → 13, -12.5 → -13."""
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def apply_rate(amount: int, rate_bp: int) -> int:
    """`rate_bp` basis points of `amount` minor units, rounded half-up once.

    Integer arithmetic: (|amount| × bp + 5000) // 10000 is exact half-up; the sign is put back.
    """
    sign = -1 if amount < 0 else 1
    return sign * ((abs(amount) * rate_bp * 2 + BP_DENOMINATOR) // (2 * BP_DENOMINATOR))


def convert(amount: int, fx_rate: Decimal) -> int:
    """`amount` minor units times `fx_rate` (target units per source unit), rounded half-up.
    The currencies handled (USD, EUR, GBP) all have 2 decimals, so minor units convert 1:1."""
    return round_half_up(Decimal(amount) * fx_rate)


# ISO 4217 minor-unit exponents that are not 2 (the currencies we might meet).
EXPONENTS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "BHD": 3, "KWD": 3, "JOD": 3}


def format_money(amount: int, currency: str) -> str:
    """Integer minor units as "USD 1,234.50" (negative: "USD -12.50"); integer arithmetic
    only (divmod), never a float."""
    currency = (currency or "").upper()
    exponent = EXPONENTS.get(currency, 2)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(int(amount)), 10**exponent)
    figure = f"{major:,}" + (f".{minor:0{exponent}d}" if exponent else "")
    return f"{currency} {sign}{figure}".strip()
