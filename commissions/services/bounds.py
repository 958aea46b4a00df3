"""Bounds on what a payment, refund or exchange rate may say, checked before anything is
written (the API's fields enforce the same figures, commissions.api).

Amounts are 1 … 10^12 minor units, dates from 2000-01-01 to one day after `now` (clock skew
between a billing system and us), exchange rates positive, at most 10^6 and 10 decimal
places. Amounts that large are far above any real payment ($10 billion) and keep every sum
we write (monthly sales, daily rollups) far from bigint's 9.2 × 10^18.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from config.errors import ServiceError

SUPPORTED_CURRENCIES = ("USD", "EUR", "GBP")
MIN_AMOUNT = 1
MAX_AMOUNT = 10**12  # minor units; see the module docstring
EARLIEST_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)
# A billing system's clock may run ahead of ours; a day more is a typo or a test clock.
FUTURE_SLACK = timedelta(days=1)
MAX_FX_RATE = Decimal(10**6)
FX_DECIMAL_PLACES = 10  # ExchangeRate.rate / Payment.fx_rate store 10 places


def check_amount(amount: int, *, field: str = "amount") -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ServiceError(f"{field} must be an integer.", fields={field: ["Not an integer."]})
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise ServiceError(
            f"{field} must be between {MIN_AMOUNT} and {MAX_AMOUNT} minor units.",
            code="amount_out_of_bounds",
            fields={field: [f"Must be {MIN_AMOUNT} … {MAX_AMOUNT}."]},
        )


def check_moment(moment: datetime, *, now: datetime, field: str) -> None:
    latest = now + FUTURE_SLACK
    if not EARLIEST_MOMENT <= moment <= latest:
        raise ServiceError(
            f"{field} must be between {EARLIEST_MOMENT:%Y-%m-%d} and one day from now.",
            code="date_out_of_bounds",
            fields={field: [f"Must be {EARLIEST_MOMENT:%Y-%m-%d} … {latest.isoformat()}."]},
        )


def check_fx_rate(rate: Decimal, *, field: str = "exchange_rate") -> None:
    try:
        ok = rate.is_finite() and 0 < rate <= MAX_FX_RATE
        places = -rate.as_tuple().exponent if ok else 0  # type: ignore[operator]
    except (InvalidOperation, TypeError, AttributeError):
        ok, places = False, 0
    if not ok or places > FX_DECIMAL_PLACES:
        raise ServiceError(
            f"{field} must be a positive decimal of at most {MAX_FX_RATE} with at most "
            f"{FX_DECIMAL_PLACES} decimal places.",
            code="invalid_exchange_rate",
            fields={field: ["Positive, ≤ 1000000, ≤ 10 decimal places."]},
        )
