"""Which shop, which credentials: global options, the SDK client, and turning errors into lines.

Precedence for the API root: ``--base-url`` > ``$SHOPKIT_BASE_URL`` > the profile's saved URL >
``http://127.0.0.1:8000/api``. For the token: ``$SHOPKIT_ACCESS_TOKEN`` > the profile's tokens.
A profile's tokens are only ever sent to the URL they were issued by: pointing ``--base-url``
at another shop must not hand it this shop's credentials.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ParamSpec

import typer

from shopkit_cli import config
from shopkit_cli.output import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, fail, warn

if TYPE_CHECKING:
    import httpx

    from shopkit import AsyncShopClient
    from shopkit.types import TokenPair

P = ParamSpec("P")

DEFAULT_BASE_URL = "http://127.0.0.1:8000/api"  # where `shopkit serve` listens by default
ENV_BASE_URL = "SHOPKIT_BASE_URL"
ENV_ACCESS_TOKEN = "SHOPKIT_ACCESS_TOKEN"  # noqa: S105 (a variable name, not a secret)
ENV_PROFILE = "SHOPKIT_PROFILE"
ENV_DEBUG = "SHOPKIT_DEBUG"
DEFAULT_PROFILE = "default"

# The seam for tests (and embedders): when set, every command's SDK client sends through the
# httpx client this returns (e.g. one on an in-process ASGI transport). The CLI closes it.
http_client_factory: Callable[[], httpx.AsyncClient] | None = None


@dataclass(frozen=True)
class GlobalOptions:
    """The root command's options (``shopkit --profile p --base-url u --json ...``)."""

    base_url: str | None = None
    profile: str = DEFAULT_PROFILE
    json: bool = False


# Set by the root callback on every invocation. A module global rather than a context object:
# one process runs one command, the commands need no context parameter, and Typer (>= 0.26)
# ships its own copy of Click, so `click.get_current_context()` would not even see it.
_options = GlobalOptions()


def set_global_options(options: GlobalOptions) -> None:
    global _options
    _options = options


def global_options() -> GlobalOptions:
    return _options


def want_json(flag: bool) -> bool:
    """``--json`` given to the command or to ``shopkit`` itself."""
    return flag or global_options().json


def normalize_url(url: str) -> str:
    return url.strip().rstrip("/")


@dataclass(frozen=True)
class Connection:
    """Where the next request goes and with which tokens."""

    profile_name: str
    base_url: str
    profile: config.Profile | None
    access_token: str | None = None
    refresh_token: str | None = None
    token_source: str | None = None  # for messages: "$SHOPKIT_ACCESS_TOKEN" or "profile 'x'"
    persist_tokens: bool = False  # write rotated tokens back to the profile

    @property
    def authenticated(self) -> bool:
        return bool(self.access_token or self.refresh_token)


def resolve(opts: GlobalOptions | None = None, *, base_url: str | None = None) -> Connection:
    """The connection the options, the environment and the saved profile add up to."""
    opts = opts or global_options()
    try:
        profile = config.load_profile(opts.profile)
    except config.ConfigError as exc:
        fail(str(exc))
    url = normalize_url(
        base_url
        or opts.base_url
        or os.environ.get(ENV_BASE_URL)
        or (profile.base_url if profile else None)
        or DEFAULT_BASE_URL
    )
    conn = Connection(profile_name=opts.profile, base_url=url, profile=profile)
    env_token = os.environ.get(ENV_ACCESS_TOKEN, "").strip()
    if env_token:
        return replace(conn, access_token=env_token, token_source=f"${ENV_ACCESS_TOKEN}")
    if profile is not None and normalize_url(profile.base_url) == url:
        return replace(
            conn,
            access_token=profile.access_token,
            refresh_token=profile.refresh_token,
            token_source=f"profile '{opts.profile}'",
            persist_tokens=True,
        )
    return conn


def _not_logged_in(conn: Connection) -> str:
    if conn.profile is not None and normalize_url(conn.profile.base_url) != conn.base_url:
        return (
            f"profile '{conn.profile_name}' is logged in to {conn.profile.base_url}, not "
            f"{conn.base_url}; run `shopkit login` for that URL or use another --profile"
        )
    return f"not logged in to {conn.base_url}: run `shopkit login` (profile '{conn.profile_name}')"


@asynccontextmanager
async def open_client(
    *, login_required: bool = True, conn: Connection | None = None
) -> AsyncIterator[AsyncShopClient]:
    """An SDK client for this invocation; rotated tokens go back to the profile."""
    from shopkit import AsyncShopClient

    conn = conn or resolve()
    if login_required and not conn.authenticated:
        fail(_not_logged_in(conn))
    http = http_client_factory() if http_client_factory is not None else None
    on_tokens = _token_saver(conn) if conn.persist_tokens else None
    sdk_http = http
    if conn.persist_tokens:
        # Saved tokens are shared with every other `shopkit` process on this profile.
        import httpx

        from shopkit_cli.shared_refresh import SharedRefresh

        http = http or httpx.AsyncClient()
        sdk_http = httpx.AsyncClient(
            transport=SharedRefresh(http, conn.profile_name, conn.base_url)
        )
    client = AsyncShopClient(
        base_url=conn.base_url,
        access_token=conn.access_token,
        refresh_token=conn.refresh_token,
        http_client=sdk_http,
        on_tokens=on_tokens,
    )
    try:
        async with client:
            yield client
    finally:
        if sdk_http is not None and sdk_http is not http:
            await sdk_http.aclose()
        if http is not None:
            await http.aclose()


def _token_saver(conn: Connection) -> Callable[[TokenPair], None]:
    def save(tokens: TokenPair) -> None:
        try:
            current = config.load_profile(conn.profile_name)
            if current is None or normalize_url(current.base_url) != conn.base_url:
                return  # logged out (or re-pointed) meanwhile: do not resurrect the profile
            current.access_token = tokens.access_token
            current.refresh_token = tokens.refresh_token
            config.save_profile(conn.profile_name, current)
        except config.ConfigError as exc:
            warn(f"could not save the refreshed tokens: {exc}")

    return save


# -- running async commands, and the one place errors become a line ----------------------


def async_command(func: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Turn ``async def`` into a Typer command whose errors end as one line on stderr."""

    @functools.wraps(func)
    def command(*args: P.args, **kwargs: P.kwargs) -> None:
        run(func(*args, **kwargs))

    return command


def run(main: Coroutine[Any, Any, None]) -> None:
    import asyncio  # not at import time: `shopkit --help` never needs an event loop

    try:
        asyncio.run(main)
    except (typer.Exit, typer.Abort, typer.TyperException):  # Typer's own ways out
        raise
    except BrokenPipeError:  # stdout's reader went away: the root command exits quietly
        raise
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:
        if os.environ.get(ENV_DEBUG):
            raise
        message, code = describe_error(exc)
        fail(message, code)


def describe_error(exc: BaseException) -> tuple[str, int]:
    """One line (and the exit code) for anything a command can fail with."""
    import shopkit

    if isinstance(exc, shopkit.APIStatusError):
        where = f"HTTP {exc.status_code}" + (f" {exc.code}" if exc.code else "")
        if exc.request_id:
            where += f", request id {exc.request_id}"
        hint = ""
        if isinstance(exc, shopkit.AuthenticationError) and exc.code != "invalid_credentials":
            hint = "; log in again with `shopkit login`"
        elif isinstance(exc, shopkit.PermissionDeniedError) and exc.code != "account_disabled":
            hint = "; this needs an admin account"
        return f"{exc.detail} ({where}){hint}", EXIT_ERROR
    if isinstance(exc, shopkit.APIConnectionError):
        return (
            f"{exc} (is the shop running? point elsewhere with --base-url or ${ENV_BASE_URL})",
            EXIT_ERROR,
        )
    if isinstance(exc, shopkit.APIResponseValidationError):
        rid = f" (request id {exc.request_id})" if exc.request_id else ""
        return f"unexpected answer from the server: {exc}{rid}", EXIT_ERROR
    if isinstance(exc, shopkit.ShopkitError):
        return str(exc), EXIT_ERROR
    if isinstance(exc, config.ConfigError):
        return str(exc), EXIT_ERROR
    if isinstance(exc, ValueError):  # an argument the SDK refused before sending anything
        return str(exc), EXIT_USAGE
    reason = str(exc).splitlines()[0] if str(exc) else ""
    return (
        f"unexpected {type(exc).__name__}{': ' + reason if reason else ''} "
        f"(set {ENV_DEBUG}=1 to see the traceback)",
        EXIT_ERROR,
    )
