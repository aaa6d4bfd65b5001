"""``shopkit users``: accounts. ``create-admin`` writes to the store directly; the rest go
through the API as the logged-in admin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from shopkit_cli.output import (
    EXIT_USAGE,
    Column,
    ask_secret,
    emit_list,
    emit_object,
    fail,
    info,
    read_secret_from_stdin,
    stdin_is_terminal,
    success,
)
from shopkit_cli.params import AllPagesOption, JsonOption, PageOption, PageSizeOption, examples
from shopkit_cli.server_extra import require_server
from shopkit_cli.session import async_command, open_client, want_json
from shopkit_cli.settings import first_error, load_settings

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


@app.command(
    "list",
    epilog=examples(
        "shopkit users list -q ada",
        "shopkit users list --all-pages --json | jq length",
    ),
)
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
            from shopkit_cli.paging import PAGE_SIZE, fetch_all

            users = await fetch_all(
                lambda n: client.users.list(q=search, page=n, page_size=PAGE_SIZE), "users"
            )
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


@app.command("promote", epilog=examples("shopkit users promote ada@example.com"))
@async_command
async def promote(user: UserArg, as_json: JsonOption = False) -> None:
    """Make a user an admin."""
    await _change(user, as_json, "promoted to admin:", role="admin")


@app.command("demote", epilog=examples("shopkit users demote ada@example.com"))
@async_command
async def demote(user: UserArg, as_json: JsonOption = False) -> None:
    """Make an admin a customer again."""
    await _change(user, as_json, "demoted to customer:", role="customer")


@app.command("deactivate", epilog=examples("shopkit users deactivate ada@example.com"))
@async_command
async def deactivate(user: UserArg, as_json: JsonOption = False) -> None:
    """Disable an account: it can no longer log in or refresh its tokens."""
    await _change(user, as_json, "deactivated", is_active=False)


@app.command("activate", epilog=examples("shopkit users activate USER_ID"))
@async_command
async def activate(user: UserArg, as_json: JsonOption = False) -> None:
    """Enable a deactivated account again."""
    await _change(user, as_json, "activated", is_active=True)


async def _user_id(client: AsyncShopClient, id_or_email: str) -> tuple[str, str]:
    if "@" in id_or_email:
        user = await find_user(client, id_or_email)
        return user.id, user.email
    return id_or_email, id_or_email


@app.command(
    "resend-verification",
    epilog=examples("shopkit users resend-verification ada@example.com"),
)
@async_command
async def resend_verification(user: UserArg) -> None:
    """Mail a user a new email-verification token (admins)."""
    async with open_client() as client:
        user_id, label = await _user_id(client, user)
        await client.users.send_verification(user_id)
    success(f"verification mail queued for {label}")


@app.command("reset-password", epilog=examples("shopkit users reset-password ada@example.com"))
@async_command
async def reset_password(user: UserArg) -> None:
    """Mail a user a password-reset token (admins); their password stays until they use it."""
    async with open_client() as client:
        user_id, label = await _user_id(client, user)
        await client.users.send_password_reset(user_id)
    success(f"password-reset mail queued for {label}")


@app.command(
    "create-admin",
    epilog=examples(
        "shopkit users create-admin --email admin@example.com   # asks twice",
        'echo "$PW" | shopkit users create-admin -e a@example.com --password-stdin',
    ),
)
def create_admin(
    email: Annotated[str, typer.Option("--email", "-e", help="The admin's email.")],
    password: Annotated[
        str | None,
        typer.Option(
            help="The password (visible in `ps` and shell history: prefer the prompt "
            "or --password-stdin)."
        ),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from stdin (for scripts)."),
    ] = False,
    name: Annotated[str, typer.Option(help="Display name.")] = "Admin",
    database_url: Annotated[
        str | None,
        typer.Option(help="sqlite:///path or mongodb://... (else SHOPKIT_DATABASE_URL)."),
    ] = None,
) -> None:
    """Create an admin account in the store (like Django's createsuperuser).

    On a terminal the password is asked twice, hidden, and asked again while it is too short
    or the two entries differ. Without a terminal give it with --password-stdin.
    """
    require_server("shopkit users create-admin")
    if password is not None and password_stdin:
        fail("give the password with --password or --password-stdin, not both", EXIT_USAGE)
    settings = load_settings(database_url=database_url)
    # The email and name are checked before asking for anything.
    checked_email, checked_name = _check_account(email, name)
    if password_stdin:
        password = read_secret_from_stdin("password")
    elif password is None:
        if not stdin_is_terminal():
            fail(
                "no terminal to ask for the password on: pipe it in with --password-stdin",
                EXIT_USAGE,
            )
        password = _ask_new_password()
    problem = password_problem(password)
    if problem is not None:
        fail(f"invalid password: {problem}", EXIT_USAGE)
    import asyncio

    asyncio.run(_create_admin(settings, checked_email, password, checked_name))


def _check_account(email: str, name: str) -> tuple[str, str]:
    from pydantic import ValidationError

    from shopkit_server.auth.schemas import RegisterRequest

    try:
        # A placeholder password that passes: only the email and name are checked here.
        checked = RegisterRequest(email=email, password="x" * 12, name=name)
    except ValidationError as exc:
        field, message = first_error(exc)
        fail(f"invalid {field}: {message}", EXIT_USAGE)
    return checked.email, checked.name


def password_problem(password: str) -> str | None:
    """Why the server's rules refuse this password for a new account, or None."""
    from pydantic import ValidationError

    from shopkit_server.auth.schemas import RegisterRequest

    try:
        RegisterRequest(email="admin@example.com", password=password, name="Admin")
    except ValidationError as exc:
        return first_error(exc)[1]
    return None


def _ask_new_password() -> str:
    """Ask (hidden) until the password passes the rules and is typed the same twice."""
    return ask_secret("Password", confirm_as="Repeat for confirmation", problem=password_problem)


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
