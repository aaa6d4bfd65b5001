"""Everything the CLI prints goes through here: data on stdout, messages on stderr."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

stdout = Console()
stderr = Console(stderr=True)

EXIT_ERROR = 1
EXIT_USAGE = 2


def info(message: str) -> None:
    stderr.print(message, highlight=False)


def warn(message: str) -> None:
    stderr.print(f"[yellow]warning:[/yellow] {message}", highlight=False)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """One line on stderr, then exit non-zero (2: usage, 1: anything else)."""
    stderr.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
