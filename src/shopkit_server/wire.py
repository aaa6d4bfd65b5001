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
reply, :data:`~shopkit_server.money.Money` serializes to a string ``"<marker><digits>"``, and
:func:`write_exact` then replaces each such string, quotes included, by its bare digits. The
marker is 128 random bits drawn for each response (from a generator seeded by the OS), so
nothing a client stored can forge it, and
the digits are matched as ``-?[0-9]+(\\.[0-9]+)?`` only. Outside a route (a test dumping a
model), money serializes as a plain JSON number through ``float``, as pydantic would.
"""

from __future__ import annotations

import json
import os
import random
import re
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

_marker: ContextVar[str | None] = ContextVar("shopkit_exact_number_marker", default=None)
# Markers come from a generator seeded with 256 bits from the OS: no system call per response,
# and a marker never reaches a client (each one is replaced before the reply leaves).
_markers = random.Random(os.urandom(32))  # noqa: S311 - the seed is the secret


def json_number(value: Decimal) -> str | float:
    """What a money field serializes to in JSON mode (see the module docstring)."""
    if not value.is_finite():
        raise ValueError(f"cannot write a non-finite amount: {value}")
    marker = _marker.get()
    if marker is None:
        return float(value)
    return marker + format(value, "f")


class _ExactNumbers:
    """The block of :func:`exact_numbers` (a plain class: a generator-based context manager
    cost as much as the rest of this module on a product read)."""

    __slots__ = ("_token",)

    def __enter__(self) -> bytes:
        marker = f"{_markers.getrandbits(128):032x}"
        self._token = _marker.set(marker)
        return marker.encode()

    def __exit__(self, *exc: object) -> None:
        _marker.reset(self._token)


def exact_numbers() -> _ExactNumbers:
    """Within the block, money serializes to marked strings; ``as`` gives the marker to replace."""
    return _ExactNumbers()


# What follows a marker in a money string: its digits, then the closing quote. One pattern for
# every response (compiling one per marker cost more than the rest of a product read).
_DIGITS_THEN_QUOTE = re.compile(rb"-?[0-9]+(?:\.[0-9]+)?\"")


def write_exact(body: bytes, marker: bytes) -> bytes:
    """Turn every ``"<marker><digits>"`` string in a JSON text into the number ``<digits>``."""
    if marker not in body:
        return body
    opening = b'"' + marker
    pieces = body.split(opening)
    out = [pieces[0]]
    for piece in pieces[1:]:
        digits = _DIGITS_THEN_QUOTE.match(piece)
        if digits is None:  # not a money string after all: left as it was
            out += (opening, piece)
        else:
            end = digits.end()
            out += (piece[: end - 1], piece[end:])
    return b"".join(out)
