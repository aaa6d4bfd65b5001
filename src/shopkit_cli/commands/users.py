"""``shopkit users``: accounts. ``create-admin`` writes to the store directly; the rest go
through the API as the logged-in admin."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shopkit_cli.output import EXIT_USAGE, Column, emit_list, emit_object, fail, info, success
from shopkit_cli.params import AllPagesOption, JsonOption, PageOption, PageSizeOption
from shopkit_cli.session import async_command, open_client, want_json
from shopkit_cli.settings import load_settings

if TYPE_CHECKING:
    from shopkit import AsyncShopClient
    from shopkit.types import User

app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)

COLUMNS = [
    Column("id", "id"),
    Column("email", "email"),
    Column("name", "name"),
    Column("role", "role"),
    Column("is_active", "active"),
    Column("last_login", "last login"),
]
FIELDS = [*COLUMNS[:5], Column("created_at", "created"), COLUMNS[5]]
UserArg = Annotated[str, typer.Argument(help="The user's id or email.", show_default=False)]


@app.command("list")
@async_command
async def list_users(
    search: Annotated[
        str | None, typer.Option("--search", "-q", help="Match email or name.")
    ] = None,
    page: PageOption = 1,
    page_size: PageSizeOption = 20,
    all_pages: AllPagesOption = False,
    as_json: JsonOption = False,
) -> None:
    """List accounts (admins)."""
    async with open_client() as client:
        if all_pages:
            users = [u async for u in client.users.iterate(q=search)]
            emit_list(users, COLUMNS, as_json=want_json(as_json), empty="no users")
            return
        result = await client.users.list(q=search, page=page, page_size=page_size)
    emit_list(result.items, COLUMNS, as_json=want_json(as_json), empty="no users")
    if result.has_next:
        info(
            f"page {page}, {len(result.items)} of {result.total} users; "
            f"--page {page + 1} for more, or --all-pages"
        )


async def find_user(client: AsyncShopClient, email: str) -> User:
    """The user with this email (any case)."""
    wanted = email.strip().casefold()
    async for user in client.users.iterate(q=wanted):
        if user.email.casefold() == wanted:
            return user
    fail(f"no user with the email {email}")


async def _change(id_or_email: str, as_json: bool, verb: str, **changes: Any) -> None:
    async with open_client() as client:
        user_id = (await find_user(client, id_or_email)).id if "@" in id_or_email else id_or_email
        updated = await client.users.update(user_id, **changes)
    success(f"{verb} {updated.email} ({updated.id})")
    emit_object(updated, FIELDS, as_json=want_json(as_json))


@app.command("promote")
@async_command
async def promote(user: UserArg, as_json: JsonOption = False) -> None:
    """Make a user an admin."""
    await _change(user, as_json, "promoted to admin:", role="admin")


@app.command("demote")
@async_command
async def demote(user: UserArg, as_json: JsonOption = False) -> None:
    """Make an admin a customer again."""
    await _change(user, as_json, "demoted to customer:", role="customer")


@app.command("deactivate")
@async_command
async def deactivate(user: UserArg, as_json: JsonOption = False) -> None:
    """Disable an account: it can no longer log in or refresh its tokens."""
    await _change(user, as_json, "deactivated", is_active=False)


@app.command("activate")
@async_command
async def activate(user: UserArg, as_json: JsonOption = False) -> None:
    """Enable a deactivated account again."""
    await _change(user, as_json, "activated", is_active=True)


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
