"""The ``shopkit`` command: one Typer app, one module per noun under ``commands/``.

Keep this module and the command modules cheap to import: ``shopkit --help`` must not load
the server, uvicorn, the database drivers, the SDK, httpx or even Rich, so heavy imports live
inside the commands (tests/cli/test_startup.py checks it). The help is Click's plain text
(``rich_markup_mode=None``): Typer's Rich help would import Rich's console, its Markdown
renderer and Pygments, most of the start-up time, for boxes that wrap badly at 80 columns.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from shopkit_cli.commands import (
    api,
    auth,
    categories,
    orders,
    products,
    profiles,
    seed,
    serve,
    users,
    webhooks,
)
from shopkit_cli.output import (
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    fail,
    is_broken_pipe,
    silence_stdout,
)
from shopkit_cli.params import examples
from shopkit_cli.session import (
    DEFAULT_PROFILE,
    ENV_BASE_URL,
    ENV_PROFILE,
    GlobalOptions,
    set_global_options,
)

EPILOG = (
    "Credentials: `shopkit login` saves tokens per --profile in the user's config directory "
    "(mode 0600); `shopkit profiles list` shows them. The API root comes from --base-url, "
    "else $SHOPKIT_BASE_URL, else the profile, else http://127.0.0.1:8000/api; "
    "$SHOPKIT_ACCESS_TOKEN overrides the saved token.\n\n"
    "Output: tables on a terminal, tab-separated lines when piped, --json for scripts. "
    "Data goes to stdout, messages, progress and errors to stderr.\n\n"
    "Exit status: 0 success, 1 error (the server's reason and request id on stderr; also a "
    "declined confirmation), 2 usage error (bad option or argument, missing --yes without a "
    "terminal), 130 interrupted (Ctrl-C), 141 stdout closed early (`| head`), quietly.\n\n"
    "Shell completion: `shopkit --install-completion` (bash, zsh, fish, PowerShell), or "
    "`shopkit --show-completion` to see the script.\n\n"
    + examples(
        "shopkit login --email admin@example.com",
        "shopkit products list --category Audio",
        "shopkit --json orders list --all | jq length",
    )
)


class ShopkitGroup(TyperGroup):
    """The root command: the one place interrupts and closed pipes become exit codes.

    Both the root's own parsing (``--help``) and every sub-command run inside these two
    methods, so nothing a command prints or asks can end with Click's "Aborted!" (exit 1) on
    Ctrl-C, or with "unexpected BrokenPipeError" when ``| head`` stops reading.
    """

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _exit_codes():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _exit_codes():
            return super().invoke(ctx)


@contextmanager
def _exit_codes() -> Iterator[None]:
    """130 on Ctrl-C (even inside a prompt), 141 quietly when stdout's reader has gone."""
    try:
        yield
    except typer.Abort as exc:
        # Click's prompts turn Ctrl-C and end-of-input into Abort; tell them apart.
        if isinstance(exc.__context__, KeyboardInterrupt):
            _interrupted()
        if isinstance(exc.__context__, EOFError):
            fail("no answer: stdin ended while a question was asked", EXIT_ERROR)
        fail("aborted, nothing changed", EXIT_ERROR)
    except KeyboardInterrupt:
        _interrupted()
    except OSError as exc:
        if not is_broken_pipe(exc):
            raise
        silence_stdout()
        raise typer.Exit(EXIT_BROKEN_PIPE) from None


def _interrupted() -> NoReturn:
    try:
        fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:  # stderr gone too: still the right exit status
        raise typer.Exit(EXIT_INTERRUPTED) from None


app = typer.Typer(
    name="shopkit",
    cls=ShopkitGroup,
    help="Run and administer a shopkit shop.",
    epilog=EPILOG,
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # never a traceback with locals on an admin's terminal
    add_completion=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
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
            help=f"Saved login to use (else ${ENV_PROFILE}, else the one `shopkit profiles "
            f"use` chose, else '{DEFAULT_PROFILE}').",
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
            profile=profile or os.environ.get(ENV_PROFILE) or profiles.current_profile_name(),
            json=as_json,
        )
    )


app.command("serve", epilog=serve.EXAMPLES)(serve.serve)
app.command("login", epilog=auth.LOGIN_EXAMPLES)(auth.login)
app.command("logout", epilog=auth.LOGOUT_EXAMPLES)(auth.logout)
app.command("whoami", epilog=auth.WHOAMI_EXAMPLES)(auth.whoami)
app.command("seed", epilog=seed.EXAMPLES)(seed.seed)
app.command("api", epilog=api.EXAMPLES)(api.api)
app.add_typer(products.app, name="products")
app.add_typer(categories.app, name="categories")
app.add_typer(orders.app, name="orders")
app.add_typer(users.app, name="users")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(profiles.app, name="profiles")


def run() -> None:
    """Console-script entry point."""
    app(prog_name="shopkit")


if __name__ == "__main__":
    run()
