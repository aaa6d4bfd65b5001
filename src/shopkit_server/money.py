"""Money: ``Decimal`` end to end, two decimals, half-up rounding to the cent.

On the wire money is a JSON number (API.md), read and written as its exact decimal text in both
directions (``shopkit_server.wire``): ``Decimal("90089999999909.91")`` goes out as
``90089999999909.91``, never through a float, and a client that parses numbers as decimals (the
shopkit SDK does) gets back exactly what the server computed; a price sent as
``19.999999999999999`` arrives as that Decimal and is refused, not rounded to ``20.00``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, Field, PlainSerializer, WithJsonSchema

from shopkit_server.wire import json_number

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Large enough for any price (and every total stays exact: the wire never goes through a float).
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


def parse_amount(value: Decimal | int | str, *, positive: bool = False) -> Decimal:
    """The one rule for an amount a person or a client gives: the server's validators, the CLI's
    options and its catalog files all call it.

    Exact (a ``Decimal``, an ``int`` or the text of a number; a float is refused because it has
    already lost the digits), finite, at most two decimals, ``>= 0`` (``> 0`` with ``positive``)
    and at most :data:`MAX_AMOUNT`. Returns it with exactly two decimals; raises ``ValueError``
    with a message that reads after the field's name (``"price has more than two decimals"``).
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise ValueError("must be a number")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    if amount < 0 or (positive and amount == 0):
        raise ValueError("must be above 0" if positive else "must be 0 or more")
    if amount > MAX_AMOUNT:  # before quantize, which cannot hold 1E+400 to the cent
        raise ValueError(f"must be at most {MAX_AMOUNT}")
    cents = amount.quantize(CENT)
    if amount != cents:
        raise ValueError("has more than two decimals")
    return cents


def _check_price(value: Decimal) -> Decimal:
    return parse_amount(value, positive=True)


def _check_bound(value: Decimal) -> Decimal:
    return parse_amount(value)


_serialize = PlainSerializer(json_number, return_type=Any, when_used="json")
# The OpenAPI schema of money: a JSON number with at most two decimals, written and read
# exactly (never through a float). ``format: decimal`` tells generators to map it to a decimal
# type where they can; parse it from the raw JSON text to keep every cent of huge amounts.
_MONEY_NOTE = (
    "Money: a JSON number with at most two decimal places (e.g. 19.99), exact on the wire; "
    "read it as a decimal, not a binary float."
)
_number = WithJsonSchema(
    {"type": "number", "format": "decimal", "description": _MONEY_NOTE}, mode="serialization"
)


def _input_schema(minimum: str) -> WithJsonSchema:
    schema: dict[str, Any] = {
        "type": "number",
        "format": "decimal",
        minimum: 0,
        "maximum": float(MAX_AMOUNT),
        "description": f"{_MONEY_NOTE} A string of the same digits is accepted too.",
    }
    return WithJsonSchema(schema, mode="validation")


# A price a client may send: > 0, two decimals at most, finite.
Price = Annotated[
    Decimal,
    Field(gt=0, le=MAX_AMOUNT, allow_inf_nan=False),
    AfterValidator(_check_price),
    _serialize,
    _number,
    _input_schema("exclusiveMinimum"),
]
# Any amount the server reports (may be zero).
Money = Annotated[Decimal, _serialize, _number]
# A bound in a price filter (>= 0).
PriceBound = Annotated[
    Decimal,
    Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False),
    AfterValidator(_check_bound),
    _input_schema("minimum"),
]


# ISO 4217 currencies Stripe (and most providers) count in whole units, not hundredths.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """The exact integer a payment provider wants: cents for USD (19.99 -> 1999), whole yen
    for JPY. Refuses (ValueError) an amount that does not fit the currency exactly."""
    exponent = 0 if currency.lower() in ZERO_DECIMAL_CURRENCIES else 2
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise ValueError(f"{amount} cannot be charged exactly in {currency.upper()}")
    return int(minor)
