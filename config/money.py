"""Money, in one place: integer minor units, one ISO 4217 exponent table, one rounding rule.

Every amount the ledger writes, every figure a page, the admin or an export shows, and every
decimal string a provider is sent goes through this module — so the exponents cannot
disagree between the dashboard and a PayPal call. Amounts are integers in the currency's
minor unit (cents for USD, yen for JPY, fils for KWD); there are no floats anywhere here.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

BP_DENOMINATOR = 10_000  # basis points: 10_000 bp = 100 %

# ISO 4217 minor-unit exponents that are not 2 (list of 2024; funds codes left out). Every
# currency not named here has 2 decimals. HUF and TWD are 2 in ISO 4217 even though PayPal
# refuses decimals in them: that is a provider rule, handled at that provider's edge.
EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0
    ),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
}


def exponent(currency: str) -> int:
    """Decimals of `currency`'s minor unit (ISO 4217): USD 2, JPY 0, KWD 3."""
    return EXPONENTS.get((currency or "").upper(), 2)


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


def format_money(amount: int, currency: str) -> str:
    """Integer minor units as "USD 1,234.50" (negative: "USD -12.50"); integer arithmetic
    only (divmod), never a float."""
    currency = (currency or "").upper()
    places = exponent(currency)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(int(amount)), 10**places)
    figure = f"{major:,}" + (f".{minor:0{places}d}" if places else "")
    return f"{currency} {sign}{figure}".strip()


def to_decimal_string(amount: int, currency: str) -> str:
    """Minor units → the plain decimal string providers and spreadsheets want: 1250 USD →
    "12.50", 1250 JPY → "1250". Exact (Decimal scaleb), no floats, no thousands separator."""
    places = exponent(currency)
    return str(Decimal(int(amount)).scaleb(-places).quantize(Decimal(1).scaleb(-places)))
