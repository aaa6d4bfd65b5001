"""``shopkit profiles list | use NAME``: the saved logins, and which one commands use."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from shopkit_cli import config
from shopkit_cli.output import EXIT_ERROR, Column, emit_list, fail, success, warn
from shopkit_cli.params import JsonOption, examples
from shopkit_cli.session import DEFAULT_PROFILE, ENV_PROFILE, global_options, want_json

app = typer.Typer(help="List the saved logins and pick the one commands use.", no_args_is_help=True)

COLUMNS = [
    Column("current", "current"),
    Column("name", "profile"),
    Column("base_url", "API root"),
    Column("email", "email"),
    Column("role", "role"),
    Column("logged_in", "logged in"),
]


def current_profile_name() -> str:
    """The profile ``shopkit profiles use`` chose, else ``default`` (a broken file is
    reported by the command that reads it, not here)."""
    try:
        return config.current_profile() or DEFAULT_PROFILE
    except config.ConfigError:
        return DEFAULT_PROFILE


@app.command(
    "list",
    epilog=examples("shopkit profiles list", "shopkit --json profiles list | jq -r '.[].name'"),
)
def list_profiles(as_json: JsonOption = False) -> None:
    """Show every saved login; `current` marks the one used without --profile."""
    try:
        profiles = config.load_profiles()
    except config.ConfigError as exc:
        fail(str(exc))
    active = global_options().profile
    rows = [
        {
            "current": name == active,
            "name": name,
            "base_url": profile.base_url,
            "email": profile.email,
            "role": profile.role,
            "logged_in": bool(profile.access_token or profile.refresh_token),
        }
        for name, profile in sorted(profiles.items())
    ]
    emit_list(
        rows,
        COLUMNS,
        as_json=want_json(as_json),
        empty="no saved profiles: run `shopkit login` (add --profile NAME for another one)",
    )


@app.command(
    "use", epilog=examples("shopkit profiles use staging", "shopkit whoami   # as staging now")
)
def use_profile(
    name: Annotated[str, typer.Argument(help="A saved profile's name.", show_default=False)],
) -> None:
    """Make a saved profile the one every command uses without --profile."""
    try:
        config.use_profile(name)
    except config.ConfigError as exc:
        fail(f"{exc}; `shopkit profiles list` shows the saved ones", EXIT_ERROR)
    success(f"now using profile '{name}'")
    if os.environ.get(ENV_PROFILE) and os.environ[ENV_PROFILE] != name:
        warn(f"${ENV_PROFILE} is set to '{os.environ[ENV_PROFILE]}' and wins while it is")
