"""Field types every request schema shares: free text, optional text and strict flags.

One definition of each rule, used by every service's ``schemas.py`` (and by query parameters):

- **Free text** (``Annotated[str, Text(100)]``) is trimmed, bounded, and refused (422) when it
  holds a character that is never text: a C0 control (``U+0000``-``U+001F``), ``DEL``, a C1
  control (``U+0080``-``U+009F``), or a bidirectional embedding, override or isolate
  (``U+202A``-``U+202E``, ``U+2066``-``U+2069``), the "Trojan Source" characters that make a
  name display as something else (CVE-2021-42574). Right-to-left text itself (Arabic, Hebrew)
  and the implicit marks ``U+200E``/``U+200F`` stay valid. A single-line field (names,
  addresses, tags) allows no control at all; a multi-line field (``Text(..., multiline=True)``,
  a product description) keeps tab, line feed and carriage return, as a ``<textarea>`` sends
  them, and refuses every other control.
- **Optional text** (``Annotated[str | None, Text(200, optional=True)]``): web and mobile forms
  send an empty optional field as ``""``, spaces or ``null``; each of those becomes ``None``.
- **Flags** are strict: only JSON ``true``/``false`` in a body (:data:`Flag`), only the words
  ``true``/``false`` in a query string (:data:`QueryFlag`). ``0``, ``1``, ``"yes"`` or ``"on"``
  are a 422, never a silent toggle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, GetCoreSchemaHandler
from pydantic_core import core_schema

_NEVER_TEXT = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_SINGLE_LINE = re.compile(f"[{_NEVER_TEXT}\t\n\r]")
_MULTI_LINE = re.compile(f"[{_NEVER_TEXT}]")


def _refuse(pattern: re.Pattern[str], value: str) -> str:
    found = pattern.search(value)
    if found is not None:
        raise ValueError(
            "must not contain control or bidirectional-override characters "
            f"(found U+{ord(found.group()):04X})"
        )
    return value


def check_line(value: str) -> str:
    """Refuse single-line text holding any control or bidi-override character."""
    return _refuse(_SINGLE_LINE, value)


def check_paragraph(value: str) -> str:
    """Refuse multi-line text holding a control other than tab, LF or CR, or a bidi override."""
    return _refuse(_MULTI_LINE, value)


def blank_to_none(value: object) -> object:
    """``""`` and ``"   "`` become ``None``: an optional form field left empty."""
    return None if isinstance(value, str) and not value.strip() else value


@dataclass(frozen=True)
class Text:
    """Free text: trimmed, ``min_length..max_length`` characters, no control characters.

    ``optional=True`` (on a ``str | None`` field) turns ``""``, blanks and ``null`` into
    ``None``; the length and character rules then apply to any other value.
    """

    max_length: int
    min_length: int = 1
    multiline: bool = False
    optional: bool = False
    pattern: str | None = None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        text = core_schema.no_info_after_validator_function(
            check_paragraph if self.multiline else check_line,
            core_schema.str_schema(
                strip_whitespace=True,
                min_length=self.min_length,
                max_length=self.max_length,
                pattern=self.pattern,
            ),
        )
        if not self.optional:
            return text
        return core_schema.no_info_before_validator_function(
            blank_to_none, core_schema.nullable_schema(text)
        )


# A boolean in a request body: JSON true/false only (1, 0, "true" are a 422).
Flag = Annotated[bool, Field(strict=True)]


def _query_flag(value: object) -> object:
    # A query string carries text; only the two spellings the API documents are flags.
    if isinstance(value, str):
        if value == "true":
            return True
        if value == "false":
            return False
        raise ValueError("must be true or false")
    return value


# A boolean in a query string: ``true`` or ``false`` only (``1``, ``yes``, ``on`` are a 422).
QueryFlag = Annotated[bool, Field(strict=True), BeforeValidator(_query_flag)]
