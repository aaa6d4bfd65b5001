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

_encode_str = json.JSONEncoder(ensure_ascii=False).encode


def loads(text: str | bytes) -> Any:
    """Parse JSON with every non-integer number as an exact ``Decimal``."""
    return json.loads(text, parse_float=Decimal)


def dumps(value: Any) -> str:
    """Serialize request bodies: dicts, lists, strings, ints, bools, None, Decimals, dates."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    if value is None or isinstance(value, bool):
        out.append({None: "null", True: "true", False: "false"}[value])
    elif isinstance(value, Enum):
        _write(value.value, out)
    elif isinstance(value, str):
        out.append(_encode_str(value))
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send a non-finite amount: {value}")
        # Positional notation ("100", not "1E+2"): exact, and friendlier in logs.
        out.append(format(value, "f"))
    elif isinstance(value, float):
        out.append(json.dumps(value, allow_nan=False))
    elif isinstance(value, datetime | date):
        out.append(_encode_str(value.isoformat()))
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
            if i:
                out.append(",")
            out.append(_encode_str(key))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot send a {type(value).__name__} as JSON")
