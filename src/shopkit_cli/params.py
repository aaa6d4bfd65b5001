"""Option types and parsers shared by the commands (stdlib only: imported for ``--help``)."""

from __future__ import annotations

from decimal import Decimal
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


def money(text: str, option: str, *, positive: bool = False) -> Decimal:
    """An amount as typed, checked by the server's own rule (finite, at most two decimals,
    >= 0, > 0 for a price, at most 9999999999.99)."""
    # Imported here, so that --help loads neither the rule nor pydantic.
    from shopkit_server.money import parse_amount

    try:
        return parse_amount(text, positive=positive)
    except ValueError as exc:
        fail(f"{option}: {text!r} {exc}", EXIT_USAGE)


def tag_list(text: str) -> list[str]:
    """``"audio, wireless"`` -> ``["audio", "wireless"]``; an empty string clears the tags."""
    return [tag.strip() for tag in text.split(",") if tag.strip()]


def examples(*lines: str) -> str:
    """A help epilog of example command lines, kept verbatim (Click's ``\\b`` marker)."""
    return "Examples:\n\n\b\n" + "\n".join(f"  $ {line}" for line in lines)
