"""The ``shopkit`` command: one Typer app, one module per noun under ``commands/``.

Keep this module and the command modules cheap to import: ``shopkit --help`` must not load
the server, uvicorn, the database drivers, or even the SDK and httpx, so heavy imports live
inside the commands (tests/cli/test_startup.py checks it).
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from shopkit_cli.commands import auth, categories, orders, products, seed, serve, users
from shopkit_cli.session import (
    DEFAULT_PROFILE,
    ENV_BASE_URL,
    ENV_PROFILE,
    GlobalOptions,
    set_global_options,
)

EPILOG = (
    "Credentials: `shopkit login` saves tokens per --profile in the user's config directory "
    "(mode 0600). The API root comes from --base-url, else $SHOPKIT_BASE_URL, else the "
    "profile, else http://127.0.0.1:8000/api; $SHOPKIT_ACCESS_TOKEN overrides the saved "
    "token.\n\n"
    "Output: tables on a terminal, tab-separated lines when piped, --json for scripts. "
    "Data goes to stdout, messages and errors to stderr.\n\n"
    "Exit status: 0 success, 1 error (the server's reason and request id on stderr), "
    "2 usage error (bad option or argument, missing --yes without a terminal), "
    "130 interrupted."
)

app = typer.Typer(
    name="shopkit",
    help="Run and administer a shopkit shop.",
    epilog=EPILOG,
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # never a traceback with locals on an admin's terminal
    add_completion=False,
    rich_markup_mode="markdown",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"shopkit {version('shopkit')}")
        raise typer.Exit()


@app.callback()
def main(
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help=f"API root, e.g. http://shop.example:8000/api (else ${ENV_BASE_URL}, "
            "else the profile's).",
            show_default=False,
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            help=f"Saved login to use (else ${ENV_PROFILE}, else '{DEFAULT_PROFILE}').",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON output from every command that prints data.")
    ] = False,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = None,
) -> None:
    """Run and administer a shopkit shop."""
    set_global_options(
        GlobalOptions(
            base_url=base_url,
            profile=profile or os.environ.get(ENV_PROFILE) or DEFAULT_PROFILE,
            json=as_json,
        )
    )


app.command("serve")(serve.serve)
app.command("login")(auth.login)
app.command("logout")(auth.logout)
app.command("whoami")(auth.whoami)
app.command("seed")(seed.seed)
app.add_typer(products.app, name="products")
app.add_typer(categories.app, name="categories")
app.add_typer(orders.app, name="orders")
app.add_typer(users.app, name="users")


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    run()
