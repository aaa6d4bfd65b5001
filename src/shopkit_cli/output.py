"""Everything the CLI prints goes through here: data on stdout, messages on stderr.

Data comes in three shapes, picked per call:

- ``--json``: stable, machine-readable JSON (money and timestamps as strings, keys in the
  order of the API's models), an array for lists, an object otherwise;
- a Rich table when stdout is a terminal;
- plain tab-separated lines without a header when stdout is piped (``cut -f1`` gives the ids).
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

EXIT_OK = 0
EXIT_ERROR = 1  # also a declined confirmation ("aborted, nothing changed")
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for `git log | head -1`

# Rich is imported on first use, not at import time: `shopkit --help` never prints through it.
_consoles: dict[bool, Console] = {}


def _console(*, err: bool) -> Console:
    console = _consoles.get(err)
    if console is None:
        from rich.console import Console

        console = _consoles[err] = Console(stderr=err, highlight=False)
    return console


def is_broken_pipe(exc: BaseException) -> bool:
    """The reader of stdout went away (``shopkit products list | head -1``)."""
    return isinstance(exc, BrokenPipeError) or (
        isinstance(exc, OSError) and exc.errno == errno.EPIPE
    )


def silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush cannot fail again and
    print "Exception ignored ... BrokenPipeError" (Python's documented recipe)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # not a real file (a test runner's buffer)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


# Messages are printed as given: a server's detail or a product name may contain "[...]",
# which Rich would otherwise read as markup. soft_wrap keeps each message on one line.


def info(message: str) -> None:
    _console(err=True).print(escape(message), soft_wrap=True)


def success(message: str) -> None:
    _console(err=True).print(f"[green]✓[/green] {escape(message)}", soft_wrap=True)


def warn(message: str) -> None:
    _console(err=True).print(f"[yellow]warning:[/yellow] {escape(message)}", soft_wrap=True)


def error_line(message: str) -> None:
    """``error: ...`` on stderr, without exiting (a prompt that asks again)."""
    _console(err=True).print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """One line on stderr, then exit non-zero (2: usage, 1: anything else)."""
    error_line(message)
    raise typer.Exit(code)


def escape(text: str) -> str:
    """Text that Rich prints as is (a server's detail may contain ``[brackets]``)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


# -- data ---------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Plain JSON types: models dumped in JSON mode, Decimal and datetimes as strings."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _exact(value: Any, marker: str) -> Any:
    """Like :func:`jsonable`, but money (``Decimal``) becomes a marked string to unquote."""
    if hasattr(value, "model_dump"):
        return _exact(value.model_dump(mode="python"), marker)
    if isinstance(value, Mapping):
        return {str(k): _exact(v, marker) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_exact(v, marker) for v in value]
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write a non-finite amount: {value}")
        return marker + format(value, "f")
    return jsonable(value)


def print_json(data: Any) -> None:
    """Data as JSON on stdout: indented, UTF-8, one trailing newline.

    Money is a JSON number with its exact digits (``19.99``), as the API writes it: one
    convention on every surface. (The digits are written from the decimal text, never through a
    float; a random marker stands for them while ``json`` renders the rest.)
    """
    marker = secrets.token_hex(16)
    text = json.dumps(_exact(data, marker), indent=2, ensure_ascii=False)
    pattern = re.compile('"' + marker + r'(-?[0-9]+(?:\.[0-9]+)?)"')
    typer.echo(pattern.sub(r"\1", text))


@dataclass(frozen=True)
class Column:
    """A column of a listing: the record key, its header, and how Rich aligns it."""

    key: str
    header: str
    justify: str = "left"
    max_width: int | None = None


def is_terminal() -> bool:
    return _console(err=False).is_terminal


def print_rich(renderable: Any) -> None:
    """A Rich renderable (a tree, a table) on stdout; only called when it is a terminal."""
    _console(err=False).print(renderable)


def stderr_is_terminal() -> bool:
    return _console(err=True).is_terminal


def emit_list(
    records: Sequence[Any],
    columns: Sequence[Column],
    *,
    as_json: bool,
    title: str | None = None,
    empty: str = "nothing to show",
) -> None:
    """A listing: JSON array, Rich table or tab-separated lines."""
    if as_json:
        print_json(list(records))
        return
    rows = [jsonable(r) for r in records]
    if not rows:
        info(empty)
        return
    if is_terminal():
        _console(err=False).print(_table(rows, columns, title))
        return
    for row in rows:
        typer.echo("\t".join(_plain(row.get(c.key)) for c in columns))


def emit_object(record: Any, fields: Sequence[Column], *, as_json: bool) -> None:
    """One object: JSON object, a two-column Rich table, or ``field<TAB>value`` lines."""
    if as_json:
        print_json(record)
        return
    data = jsonable(record)
    if is_terminal():
        from rich.table import Table

        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column(overflow="fold")
        for field in fields:
            table.add_row(field.header, _cell(data.get(field.key)))
        _console(err=False).print(table)
        return
    for field in fields:
        typer.echo(f"{field.key}\t{_plain(data.get(field.key))}")


def emit_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], title: str) -> None:
    """A secondary human-only table (order lines, a plan); tab-separated when piped."""
    if is_terminal():
        _console(err=False).print(_table([jsonable(r) for r in rows], columns, title))
        return
    for row in rows:
        typer.echo("\t".join(_plain(jsonable(row).get(c.key)) for c in columns))


def _table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], title: str | None
) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(
            column.header,
            justify=column.justify,  # type: ignore[arg-type]
            max_width=column.max_width,
            overflow="fold" if column.max_width is None else "ellipsis",
        )
    for row in rows:
        table.add_row(*(_cell(row.get(c.key)) for c in columns))
    return table


def _cell(value: Any) -> str:
    """A value for a Rich table (escaped: product names may contain ``[...]``)."""
    if value is None or value == "":
        return "[dim]-[/dim]"
    if isinstance(value, bool):
        return "yes" if value else "[dim]no[/dim]"
    if isinstance(value, list):
        return escape(", ".join(str(v) for v in value))
    return escape(str(value))


def _plain(value: Any) -> str:
    """A value for a tab-separated line: never a tab or newline inside it."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list):
        text = ",".join(str(v) for v in value)
    else:
        text = str(value)
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


# -- interaction --------------------------------------------------------------------------


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def require_yes_or_terminal(*, yes: bool, action: str) -> None:
    """Fail early (before any request) when there will be no way to ask."""
    if not yes and not stdin_is_terminal():
        fail(f"{action} needs --yes when stdin is not a terminal", EXIT_USAGE)


def confirm(question: str, *, yes: bool, action: str) -> None:
    """Ask before a destructive action; without a terminal to ask on, require ``--yes``."""
    require_yes_or_terminal(yes=yes, action=action)
    if not yes and not typer.confirm(question, default=False, err=True):
        fail("aborted, nothing changed")


def ask_secret(
    question: str,
    *,
    confirm_as: str | None = None,
    problem: Callable[[str], str | None] | None = None,
) -> str:
    """A hidden answer typed on the terminal, asked again while ``problem`` finds one (its
    words: "must have at least 8 characters") or the two entries differ."""
    while True:
        first: str = typer.prompt(question, hide_input=True, err=True)
        why = problem(first) if problem is not None else None
        if why is not None:
            error_line(f"the {question.lower()} {why}; try again")
            continue
        if confirm_as is None:
            return first
        second: str = typer.prompt(confirm_as, hide_input=True, err=True)
        if first == second:
            return first
        error_line("the two entries differ; try again")


def read_secret_from_stdin(what: str) -> str:
    """One line from stdin (``--password-stdin``): the trailing newline is not part of it."""
    line = sys.stdin.readline()
    if not line:
        fail(f"--{what}-stdin: stdin is empty", EXIT_USAGE)
    return line.rstrip("\r\n")


class Progress(Protocol):
    def advance(self, amount: int) -> None: ...

    def set_total(self, total: int) -> None: ...


class _NoProgress:
    def advance(self, amount: int) -> None:
        return None

    def set_total(self, total: int) -> None:
        return None


class _RichProgress:
    def __init__(self, progress: Any, task: Any) -> None:
        self._progress = progress
        self._task = task

    def advance(self, amount: int) -> None:
        self._progress.advance(self._task, amount)

    def set_total(self, total: int) -> None:
        self._progress.update(self._task, total=total)


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Progress]:
    """A progress bar on stderr when it is a terminal; silent otherwise (logs, pipes, CI:
    each long command ends with its own one-line summary there).

    ``total`` may be unknown at first (None) and given later with ``set_total``.
    """
    if not stderr_is_terminal() or (total is not None and total <= 0):
        yield _NoProgress()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import Progress as RichProgress

    with RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_console(err=True),
        transient=False,  # the finished bar stays: how many went, how long it took
    ) as bar:
        yield _RichProgress(bar, bar.add_task(description, total=total))
