"""JSON that keeps money exact in both directions.

The standard library turns ``209.98`` into the float ``209.97999999999999``; parsing floats as
:class:`~decimal.Decimal` keeps the server's digits. On the way out a ``Decimal`` is written as a
JSON *number* with its own digits (``Decimal("19.99")`` -> ``19.99``), never through a float and
never as a string, because the contract says money is a number.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

# The C encoder's own string form (what ``JSONEncoder(ensure_ascii=False).encode`` returns for
# a str), called directly: a request body is mostly strings.
_encode_str = json.encoder.encode_basestring


def loads(text: str | bytes) -> Any:
    """Parse JSON with every non-integer number as an exact ``Decimal``."""
    return json.loads(text, parse_float=Decimal)


def dumps(value: Any) -> str:
    """Serialize request bodies: dicts, lists, strings, ints, bools, None, Decimals, dates."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    # The types of almost every value by their exact type first (a bulk body is 500 objects
    # of strings, ints and one Decimal each); subclasses and the rest in _write_other.
    kind = type(value)
    if kind is str:
        out.append(_encode_str(value))
    elif kind is dict:
        _write_object(value, out)
    elif kind is list:
        _write_array(value, out)
    else:
        _write_other(value, out)


def _write_item(value: Any, out: list[str]) -> None:
    """``_write`` with the leaves of a request row written in place (no call for them)."""
    kind = type(value)
    if kind is str:
        out.append(_encode_str(value))
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is Decimal:
        out.append(_decimal(value))
    else:
        _write(value, out)


def _write_object(value: Mapping[Any, Any], out: list[str]) -> None:
    out.append("{")
    for i, (key, item) in enumerate(value.items()):
        if not isinstance(key, str):
            raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
        out.append(f",{_encode_str(key)}:" if i else f"{_encode_str(key)}:")
        _write_item(item, out)
    out.append("}")


def _write_array(value: list[Any] | tuple[Any, ...], out: list[str]) -> None:
    out.append("[")
    for i, item in enumerate(value):
        if i:
            out.append(",")
        _write_item(item, out)
    out.append("]")


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot send a non-finite amount: {value}")
    # Positional notation ("100", not "1E+2"): exact, and friendlier in logs.
    return format(value, "f")


def _write_other(value: Any, out: list[str]) -> None:
    if value is None or isinstance(value, bool):
        out.append({None: "null", True: "true", False: "false"}[value])
    elif isinstance(value, Enum):
        _write(value.value, out)
    elif isinstance(value, str):
        out.append(_encode_str(value))
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, Decimal):
        out.append(_decimal(value))
    elif isinstance(value, float):
        out.append(json.dumps(value, allow_nan=False))
    elif isinstance(value, datetime | date):
        out.append(_encode_str(value.isoformat()))
    elif isinstance(value, Mapping):
        _write_object(value, out)
    elif isinstance(value, list | tuple):
        _write_array(value, out)
    else:
        raise TypeError(f"cannot send a {type(value).__name__} as JSON")
