"""Money: ``Decimal`` end to end, two decimals, half-up rounding to the cent.

On the wire money is a JSON number (API.md); it is written from the exact decimal text, so
``Decimal("209.98")`` goes out as ``209.98`` and a client that parses numbers as decimals
(the shopkit SDK does) gets back exactly what the server computed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, Field, PlainSerializer

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Large enough for any price, small enough that float text round-trips it exactly (< 15 digits).
MAX_AMOUNT = Decimal("9999999999.99")


def quantize(amount: Decimal) -> Decimal:
    """Round to the cent, half-up: 9.999 -> 10.00, 0.015 -> 0.02."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def to_cents(amount: Decimal) -> int:
    """Exact integer cents of an amount that has at most two decimals."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} has more than two decimals")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def _check_amount(value: Decimal) -> Decimal:
    try:
        if not value.is_finite():
            raise ValueError("must be a finite number")
        exponent = value.normalize().as_tuple().exponent
    except InvalidOperation as exc:  # pragma: no cover - pydantic already parsed it
        raise ValueError("must be a number") from exc
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError("must have at most two decimals")
    return value.quantize(CENT)


def _as_json_number(value: Decimal) -> float:
    # float(str) of an amount with two decimals and < 15 digits prints back the same digits.
    return float(value)


_serialize = PlainSerializer(_as_json_number, return_type=float, when_used="json")

# A price a client may send: > 0, two decimals at most, finite.
Price = Annotated[
    Decimal,
    Field(gt=0, le=MAX_AMOUNT, allow_inf_nan=False),
    AfterValidator(_check_amount),
    _serialize,
]
# Any amount the server reports (may be zero).
Money = Annotated[Decimal, _serialize]
