"""``shopkit login | logout | whoami``: the saved credentials of a profile."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Annotated

import typer

from shopkit_cli import config
from shopkit_cli.output import (
    EXIT_USAGE,
    Column,
    ask_secret,
    emit_object,
    fail,
    info,
    print_json,
    read_secret_from_stdin,
    success,
    warn,
)
from shopkit_cli.params import JsonOption, examples
from shopkit_cli.session import (
    ENV_ACCESS_TOKEN,
    Connection,
    async_command,
    global_options,
    open_client,
    resolve,
    want_json,
)

LOGIN_EXAMPLES = examples(
    "shopkit login --email admin@example.com     # asks for the password",
    "shopkit --profile staging login --base-url https://staging.example/api",
    'echo "$PW" | shopkit login -e admin@example.com --password-stdin',
)
LOGOUT_EXAMPLES = examples("shopkit logout", "shopkit --profile staging logout")
WHOAMI_EXAMPLES = examples("shopkit whoami", "shopkit whoami --json | jq -r .user.role")

USER_FIELDS = [
    Column("id", "id"),
    Column("email", "email"),
    Column("name", "name"),
    Column("role", "role"),
    Column("is_active", "active"),
    Column("created_at", "created"),
    Column("last_login", "last login"),
]


def login(
    email: Annotated[
        str | None, typer.Option("--email", "-e", help="Account email (prompted if not given).")
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from stdin (for scripts)."),
    ] = False,
    base_url: Annotated[
        str | None,
        typer.Option(help="API root to log in to, e.g. http://shop.example:8000/api."),
    ] = None,
) -> None:
    """Log in and save the tokens for this profile (the password is never stored)."""
    conn = resolve(base_url=base_url)
    if email is None:
        email = typer.prompt("Email", err=True)
    password = read_secret_from_stdin("password") if password_stdin else ask_secret("Password")
    if not email.strip() or not password:
        fail("email and password must not be empty", EXIT_USAGE)
    _login(conn, email.strip(), password)


@async_command
async def _login(conn: Connection, email: str, password: str) -> None:
    # Log in with no token at all: the saved or $SHOPKIT_ACCESS_TOKEN one is irrelevant here.
    anonymous = replace(conn, access_token=None, refresh_token=None, persist_tokens=False)
    async with open_client(login_required=False, conn=anonymous) as client:
        result = await client.auth.login(email=email, password=password)
    profile = config.Profile(
        base_url=conn.base_url,
        email=result.user.email,
        role=result.user.role,
        access_token=result.tokens.access_token,
        refresh_token=result.tokens.refresh_token,
    )
    path = config.save_profile(conn.profile_name, profile)
    success(
        f"logged in to {conn.base_url} as {result.user.email} ({result.user.role}); "
        f"profile '{conn.profile_name}' saved in {path}"
    )
    if not result.user.is_admin:
        warn("this account is not an admin: admin commands will be refused")
    if os.environ.get(ENV_ACCESS_TOKEN):
        warn(f"${ENV_ACCESS_TOKEN} is set and is used instead of this login while it is")


@async_command
async def logout() -> None:
    """Revoke this profile's session on the server and forget its tokens."""
    name = global_options().profile
    try:
        profile = config.load_profile(name)
    except config.ConfigError as exc:
        fail(str(exc))
    if profile is None:
        info(f"not logged in (profile '{name}'): nothing to do")
        return
    if profile.refresh_token:
        import shopkit

        # The profile's own URL: its tokens belong to that shop, whatever --base-url says.
        conn = Connection(
            profile_name=name,
            base_url=profile.base_url,
            profile=profile,
            access_token=profile.access_token,
            refresh_token=profile.refresh_token,
        )
        try:
            async with open_client(conn=conn) as client:
                try:
                    await client.auth.logout(refresh_token=profile.refresh_token)
                finally:
                    # An expired access token makes the SDK refresh first, which rotates the
                    # refresh token: revoke the new one too so no session outlives the logout.
                    rotated = client.refresh_token
                    if rotated and rotated != profile.refresh_token:
                        await client.auth.logout(refresh_token=rotated)
        except shopkit.ShopkitError as exc:
            warn(f"the server did not revoke the session ({exc}); forgetting it here anyway")
    config.delete_profile(name)
    success(f"logged out of {profile.base_url} (profile '{name}')")


@async_command
async def whoami(as_json: JsonOption = False) -> None:
    """Show the account this profile (or $SHOPKIT_ACCESS_TOKEN) acts as."""
    conn = resolve()
    async with open_client(conn=conn) as client:
        user = await client.auth.me()
    if want_json(as_json):
        print_json(
            {
                "profile": conn.profile_name,
                "base_url": conn.base_url,
                "token_source": conn.token_source,
                "user": user,
            }
        )
        return
    info(f"{conn.base_url} (credentials from {conn.token_source})")
    emit_object(user, USER_FIELDS, as_json=False)
