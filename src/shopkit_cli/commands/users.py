"""``shopkit users``: accounts. ``create-admin`` writes to the store directly."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from shopkit_cli.output import EXIT_USAGE, fail, info
from shopkit_cli.settings import load_settings

app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="The admin's email.")],
    password: Annotated[
        str | None, typer.Option(help="Prompted for (hidden) when not given.")
    ] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "Admin",
    database_url: Annotated[
        str | None,
        typer.Option(help="sqlite:///path or mongodb://... (else SHOPKIT_DATABASE_URL)."),
    ] = None,
) -> None:
    """Create an admin account in the store (like Django's createsuperuser)."""
    from pydantic import ValidationError

    from shopkit_server.auth.schemas import RegisterRequest

    settings = load_settings(database_url=database_url)
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        checked = RegisterRequest(email=email, password=password, name=name)
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"invalid {first['loc'][0]}: {first['msg']}", EXIT_USAGE)
    asyncio.run(_create_admin(settings, checked.email, checked.password, checked.name))


async def _create_admin(settings: object, email: str, password: str, name: str) -> None:
    from shopkit_server.auth.errors import EmailTaken
    from shopkit_server.auth.service import AuthService
    from shopkit_server.security import PasswordHasher, Role, TokenCodec, generate_secret
    from shopkit_server.settings import Settings
    from shopkit_server.store import open_store

    assert isinstance(settings, Settings)
    try:
        store = await open_store(settings)
    except Exception as exc:
        fail(f"cannot open the store: {str(exc).splitlines()[0] if str(exc) else exc!r}")
    try:
        # No token is issued here, so any signing key will do.
        auth = AuthService(
            users=store.users,
            refresh_tokens=store.refresh_tokens,
            tokens=TokenCodec(generate_secret()),
            passwords=PasswordHasher(rounds=settings.bcrypt_rounds),
        )
        try:
            user = await auth.create_user(
                email=email, password=password, name=name, role=Role.ADMIN
            )
        except EmailTaken:
            fail(f"an account with the email {email} already exists")
        info(f"created admin {user.email} (id {user.id})")
    finally:
        await store.close()
