"""JSON on the wire, exact for money in both directions.

**In.** Every request body is parsed here (:func:`loads`, called by ``routing.ShopRoute``): a JSON
number with a fraction or an exponent becomes a :class:`~decimal.Decimal` of exactly the digits
the client sent, never a float, so ``19.999999999999999`` reaches the money validator as itself
and is refused (more than two decimals) instead of arriving as the float ``20.0``. ``NaN`` and
``Infinity`` (not JSON, RFC 8259 section 6), lone UTF-16 surrogates (no store can keep them),
bytes that are not UTF-8 and integers too long to parse are refused as invalid JSON: FastAPI's
usual 422 ``json_invalid``, never a 500.

**Out.** JSON has one number type, and the float FastAPI/pydantic would write loses digits past
the 15th or 16th (``90089999999909.91`` came out as ``90089999999909.9``). pydantic writes a
``Decimal`` as a JSON *string*, and neither it nor FastAPI offers a hook that writes the raw text
of a number (pydantic/pydantic#7457). So money is written in two steps: while a route renders its
reply, :data:`~shopkit_server.money.Money` serializes to a string ``"<open><digits><close>"``,
and :func:`write_exact` then turns each such string, quotes included, into its bare digits by
deleting every ``"<open>`` and every ``<close>"``. ``<open>`` and ``<close>`` are 128 random bits
each, drawn for each response (from a generator seeded by the OS), so nothing a client stored
can forge either, and what lies between them is only ever ``format(amount, "f")``: digits, one
point, a sign. Outside a route (a test dumping a model), money serializes as a plain JSON number
through ``float``, as pydantic would.
"""

from __future__ import annotations

import json
import os
import random
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

# -- in -------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


def _may_hold_surrogates(body: bytes) -> bool:
    """False when the parsed body cannot hold a surrogate, so the walk over every string (most
    of the parsing cost of a bulk import) is skipped. ``json.loads`` decodes bytes with
    ``surrogatepass``: a surrogate can come from a ``\\u`` escape, from the bytes ``ED A0..BF``
    in UTF-8, or from any UTF-16/32 body; a UTF-8 body with none of those holds none."""
    return b"\\u" in body or b"\xed" in body or json.detect_encoding(body) != "utf-8"


def loads(body: bytes) -> Any:
    """Parse a request body: fractions as exact ``Decimal``; anything that is not valid JSON
    text (see the module docstring) raises :class:`json.JSONDecodeError`."""
    try:
        value = json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # not UTF-8, NaN/Infinity, an integer past Python's digit limit
        raise json.JSONDecodeError(str(exc), "", 0) from None
    if _may_hold_surrogates(body) and _has_lone_surrogate(value):
        raise json.JSONDecodeError("lone surrogate: not valid Unicode text", "", 0)
    return value


# -- out ------------------------------------------------------------------------------------

# The (open, close) marks of the response being rendered; None outside a route.
_marker: ContextVar[tuple[str, str] | None] = ContextVar(
    "shopkit_exact_number_marker", default=None
)
# Marks come from a generator seeded with 256 bits from the OS: no system call per response,
# and a mark never reaches a client (each one is deleted before the reply leaves).
_markers = random.Random(os.urandom(32))  # noqa: S311 - the seed is the secret


def json_number(value: Decimal) -> str | float:
    """What a money field serializes to in JSON mode (see the module docstring)."""
    if not value.is_finite():
        raise ValueError(f"cannot write a non-finite amount: {value}")
    marks = _marker.get()
    if marks is None:
        return float(value)
    return marks[0] + format(value, "f") + marks[1]


Marks = tuple[bytes, bytes]


class _ExactNumbers:
    """The block of :func:`exact_numbers` (a plain class: a generator-based context manager
    cost as much as the rest of this module on a product read)."""

    __slots__ = ("_token",)

    def __enter__(self) -> Marks:
        bits = f"{_markers.getrandbits(256):064x}"
        opening, closing = bits[:32], bits[32:]
        self._token = _marker.set((opening, closing))
        return b'"' + opening.encode(), closing.encode() + b'"'

    def __exit__(self, *exc: object) -> None:
        _marker.reset(self._token)


def exact_numbers() -> _ExactNumbers:
    """Within the block, money serializes to marked strings; ``as`` gives the marks to pass to
    :func:`write_exact`."""
    return _ExactNumbers()


def write_exact(body: bytes, marks: Marks) -> bytes:
    """Turn every ``"<open><digits><close>"`` string in a JSON text into the number
    ``<digits>``: ``marks`` is what :func:`exact_numbers` gave, ``(b'"<open>', b'<close>"')``."""
    opening, closing = marks
    if opening not in body:
        return body
    return body.replace(opening, b"").replace(closing, b"")
