"""FastAPI dependencies shared by every service: the app context and who is calling.

Three levels of "who is calling":

- ``CurrentUser``: the access token alone (no database trip) for a customer; a token that
  claims admin is checked against the live account.
- ``ActiveUser``: the same, plus the live account for customers too: every state-changing
  customer route (cart writes, checkout, cancel, profile, password) uses it, so a deactivation
  takes effect at once instead of when the token expires.
- ``AdminUser``: an admin, checked live.

``authenticate_early`` runs the same check before a route's body is read (see routing.py), so
an anonymous or under-privileged caller is refused without the server reading its body.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shopkit_server.errors import (
    AccountDisabled,
    AdminOnly,
    InvalidAccessToken,
    NotAuthenticated,
    raises,
)
from shopkit_server.security import InvalidToken, Role, TokenType

if TYPE_CHECKING:
    from collections.abc import Callable

    from shopkit_server.context import AppContext


# Every dependency here is ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in
# a worker thread, and that hop cost about half of a catalog read.
CONTEXT_SCOPE_KEY = "shopkit.ctx"
"""Where a request finds its shop's context: set by the shop's own app, or, for routes included
in a host app, by the middleware :meth:`shopkit_server.embed.Shop.include_in` adds (before any
route runs, so a caller check made before the body is read has it too)."""


OWN_APP_SCOPE_KEY = "shopkit.own_app"
"""Set on requests served by a shop's own app (not routes included in a host app, where the
host's dependencies may guard them): only there may a public read skip dependency solving."""


async def get_context(request: Request) -> AppContext:
    ctx: AppContext | None = request.scope.get(CONTEXT_SCOPE_KEY)
    if ctx is None:
        raise RuntimeError(
            "no shopkit context on this request: include shopkit routers with "
            "shopkit_server.embed.Shop.include_in(app), not app.include_router"
        )
    return ctx


Context = Annotated["AppContext", Depends(get_context)]

_bearer = HTTPBearer(
    auto_error=False, scheme_name="bearer", description="An access token from /auth/login"
)
_PRINCIPAL = "shopkit.principal"  # where an early check leaves its answer in the request state


class Level(IntEnum):
    """How much a route needs to know about its caller (ordered: each includes the last)."""

    TOKEN = 1
    ACTIVE = 2
    ADMIN = 3
    SERVICE = 4  # a peer service's token (``/internal``); never mixed with a user's on a route


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as the access token (and, when checked, the account) says."""

    id: str
    role: Role
    token: str  # the raw access token, forwarded when one service calls another for the user
    live: bool = False  # True when the account itself was read for this request
    email_verified: bool = False  # as the live account says (False when not read)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


async def _principal(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    level: Level,
) -> Principal:
    # The context is read from the request, not asked of FastAPI as a sub-dependency: each
    # one FastAPI solves costs a few microseconds on every authenticated request.
    state = request.scope.setdefault("state", {})
    cached = state.get(_PRINCIPAL)
    if isinstance(cached, Principal) and (cached.live or level is Level.TOKEN):
        principal = cached
    else:
        principal = await _check(await get_context(request), credentials, level)
        state[_PRINCIPAL] = principal
    if level is Level.ADMIN and not principal.is_admin:
        raise AdminOnly()
    return principal


async def _check(
    ctx: AppContext, credentials: HTTPAuthorizationCredentials | None, level: Level
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("Missing bearer token.")
    try:
        claims = ctx.tokens.decode(credentials.credentials, TokenType.ACCESS)
    except InvalidToken:
        raise InvalidAccessToken() from None
    if claims.family in ctx.auth.revoked:
        # Its refresh token was reused: the whole session is revoked (revocations.py).
        raise InvalidAccessToken("This session was revoked.")
    assert claims.role is not None
    role = claims.role
    if level is Level.ADMIN and role is not Role.ADMIN:
        raise AdminOnly()
    if role is not Role.ADMIN and level is Level.TOKEN:
        # Customers ride on the token alone where nothing changes (no database trip).
        return Principal(id=claims.sub, role=role, token=credentials.credentials)
    # A token that claims admin is always checked against the live account, so a demoted or
    # disabled admin loses admin powers at once on every route, not when the token expires.
    account = await ctx.accounts.state(claims.sub)
    if account is None or not account.is_active:
        raise AccountDisabled()
    if claims.version < account.token_version:
        # Issued before the password was reset or changed: that session is over.
        raise InvalidAccessToken("This session ended when the password was changed.")
    if role is Role.ADMIN:
        role = account.role  # a demoted admin; a customer's token never gains a role
    return Principal(
        id=claims.sub,
        role=role,
        token=credentials.credentials,
        live=True,
        email_verified=account.email_verified,
    )


@raises(NotAuthenticated, InvalidAccessToken, AccountDisabled)
async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return await _principal(request, credentials, Level.TOKEN)


@raises(NotAuthenticated, InvalidAccessToken, AccountDisabled)
async def active_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, with the account checked live (customers too): for state-changing routes."""
    return await _principal(request, credentials, Level.ACTIVE)


@raises(NotAuthenticated, InvalidAccessToken, AccountDisabled, AdminOnly)
async def admin_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """An admin, checked against the live account."""
    return await _principal(request, credentials, Level.ADMIN)


@raises(NotAuthenticated, InvalidAccessToken, AccountDisabled)
async def optional_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The caller if a token is sent (a bad one is still a 401), else ``None``."""
    if credentials is None:
        return None
    return await _principal(request, credentials, Level.TOKEN)


@raises(NotAuthenticated, InvalidAccessToken, AccountDisabled)
async def optional_active_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The caller checked live if a token is sent (a bad one is still a 401), else ``None``."""
    if credentials is None:
        return None
    return await _principal(request, credentials, Level.ACTIVE)


@raises(NotAuthenticated, InvalidAccessToken)
async def service_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """A peer service presenting a service token (``/internal`` routes); users are refused."""
    ctx = await get_context(request)
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("Missing service token.")
    try:
        claims = ctx.tokens.decode(credentials.credentials, TokenType.SERVICE)
    except InvalidToken:
        raise InvalidAccessToken("A service token is required.") from None
    return claims.sub


# Which dependency asks for which level: routing.py finds these in a route's dependencies.
LEVELS: dict[Callable[..., object], Level] = {
    current_user: Level.TOKEN,
    active_user: Level.ACTIVE,
    admin_user: Level.ADMIN,
    service_caller: Level.SERVICE,
}


async def authenticate_early(request: Request, level: Level) -> None:
    """Run a route's caller check before its body is read; the dependency reuses the answer."""
    credentials = await _bearer(request)
    if level is Level.SERVICE:
        await service_caller(request, credentials)  # a signature check, no store: repeated cheaply
    else:
        await _principal(request, credentials, level)


CurrentUser = Annotated[Principal, Depends(current_user)]
ActiveUser = Annotated[Principal, Depends(active_user)]
ServiceCaller = Annotated[str, Depends(service_caller)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]
OptionalActiveUser = Annotated[Principal | None, Depends(optional_active_user)]
AdminUser = Annotated[Principal, Depends(admin_user)]
