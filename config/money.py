"""Money, in one place: integer minor units, one ISO 4217 exponent table, one rounding rule.

Every amount the ledger writes, every figure a page, the admin or an export shows, and every
decimal string a provider is sent goes through this module — so the exponents cannot
disagree between the dashboard and a PayPal call. Amounts are integers in the currency's
minor unit (cents for USD, yen for JPY, fils for KWD); there are no floats anywhere here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils import translation

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


# How each of our languages writes an amount (CLDR's conventions, shown with the ISO code
# rather than a symbol: "$" is also CAD's and AUD's, and a page may list several currencies):
# decimal mark, group separator, minimum digits before grouping starts (Spanish writes
# 1234 but 12.345), and whether the code goes before the figure. NBSP keeps "1.234,50 USD"
# on one line; French groups with a narrow NBSP. English keeps the project's own
# "USD 1,234.50" (plain space), which tests, exports and the admin have always shown.
NBSP, NNBSP = "\u00a0", "\u202f"


@dataclass(frozen=True)
class MoneyStyle:
    decimal: str
    group: str
    min_grouping: int  # digits: a figure with fewer is written without separators
    code_first: bool
    space: str = NBSP


MONEY_STYLES: dict[str, MoneyStyle] = {
    "en": MoneyStyle(".", ",", 4, code_first=True, space=" "),
    "de": MoneyStyle(",", ".", 4, code_first=False),
    "fr": MoneyStyle(",", NNBSP, 4, code_first=False),
    "es": MoneyStyle(",", ".", 5, code_first=False),
    "it": MoneyStyle(",", ".", 4, code_first=False),
    "nl": MoneyStyle(",", ".", 4, code_first=True),
    "pt": MoneyStyle(",", ".", 4, code_first=True),
    "ja": MoneyStyle(".", ",", 4, code_first=True),
}


# How each language writes a percentage after its figure (CLDR's percent patterns): German
# and Spanish put a no-break space before the sign, French a narrow one (as it groups
# digits), the others close it up: en "12.5%", de "12,5 %", fr "12,5 %", it "12,5%".
PERCENT_SIGNS: dict[str, str] = {"de": NBSP + "%", "fr": NNBSP + "%", "es": NBSP + "%"}


def _base_language(language: str | None) -> str:
    return (language or "").lower().replace("_", "-").split("-")[0]


def _style(language: str | None) -> MoneyStyle:
    return MONEY_STYLES.get(_base_language(language), MONEY_STYLES["en"])


def with_percent_sign(figure: str, language: str | None = None) -> str:
    """A figure already in the language's digits ("12,5") followed by the percent sign as
    the active language (or `language`) writes it: en "12.5%", de "12,5\u00a0%"."""
    if language is None:
        language = translation.get_language()
    return figure + PERCENT_SIGNS.get(_base_language(language), "%")


def money_style(language: str | None = None) -> MoneyStyle:
    """How `language` (by default the active one) writes an amount: its marks, for parsers."""
    return _style(translation.get_language() if language is None else language)


def _group(digits: str, separator: str, min_grouping: int) -> str:
    if len(digits) < min_grouping:
        return digits
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return separator.join(parts)


def format_money(amount: int, currency: str, language: str | None = None) -> str:
    """Integer minor units as the active language (or `language`) writes them: en
    "USD 1,234.50" (negative "USD -12.50"), de "1.234,50 USD", fr "1 234,50 USD",
    ja "JPY 1,234". Integer arithmetic only (divmod), never a float."""
    if language is None:
        language = translation.get_language()
    style = _style(language)
    currency = (currency or "").upper()
    places = exponent(currency)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(int(amount)), 10**places)
    figure = _group(str(major), style.group, style.min_grouping)
    if places:
        figure += f"{style.decimal}{minor:0{places}d}"
    if not currency:
        return sign + figure
    if style.code_first:
        return f"{currency}{style.space}{sign}{figure}"
    return f"{sign}{figure}{style.space}{currency}"


def to_decimal_string(amount: int, currency: str) -> str:
    """Minor units → the plain decimal string providers and spreadsheets want: 1250 USD →
    "12.50", 1250 JPY → "1250". Exact (Decimal scaleb), no floats, no thousands separator."""
    places = exponent(currency)
    return str(Decimal(int(amount)).scaleb(-places).quantize(Decimal(1).scaleb(-places)))
