"""Option types and parsers shared by the commands (stdlib only: imported for ``--help``)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from shopkit_cli.output import EXIT_USAGE, fail

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON (stable keys, money as strings).")
]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask; required when stdin is not a terminal.")
]
PageOption = Annotated[int, typer.Option(min=1, help="Page number.")]
PageSizeOption = Annotated[int, typer.Option(min=1, max=100, help="Items per page (1-100).")]
AllPagesOption = Annotated[
    bool, typer.Option("--all-pages", help="Every page, not just one (fetched lazily).")
]

_CENT = Decimal("0.01")


def money(text: str, option: str, *, positive: bool = False) -> Decimal:
    """An amount as typed: finite, at most two decimals, >= 0 (> 0 for a price)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        fail(f"{option}: {text!r} is not an amount", EXIT_USAGE)
    if not value.is_finite() or value < 0 or (positive and value == 0):
        fail(
            f"{option}: {text!r} must be a finite amount {'above' if positive else '>='} 0",
            EXIT_USAGE,
        )
    if value != value.quantize(_CENT):
        fail(f"{option}: {text!r} has more than two decimals", EXIT_USAGE)
    return value


def tag_list(text: str) -> list[str]:
    """``"audio, wireless"`` -> ``["audio", "wireless"]``; an empty string clears the tags."""
    return [tag.strip() for tag in text.split(",") if tag.strip()]


def examples(*lines: str) -> str:
    """A help epilog of example command lines, kept verbatim (Click's ``\\b`` marker)."""
    return "Examples:\n\n\b\n" + "\n".join(f"  $ {line}" for line in lines)
