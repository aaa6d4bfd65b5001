"""The ``shopkit`` command: one Typer app, one module per noun under ``commands/``.

Keep this module and the command modules cheap to import: ``shopkit --help`` must not load
the server, uvicorn or the database drivers, so heavy imports live inside the commands.
"""

from __future__ import annotations

import typer

from shopkit_cli.commands import serve, users

app = typer.Typer(
    name="shopkit",
    help="Run and administer a shopkit shop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # never a traceback with locals on an admin's terminal
    add_completion=False,
)
app.command("serve")(serve.serve)
app.add_typer(users.app, name="users")


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    run()
