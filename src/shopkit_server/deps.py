"""FastAPI dependencies shared by every service: the app context and who is calling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shopkit_server.errors import NotAuthenticated, PermissionDenied
from shopkit_server.security import InvalidToken, Role, TokenType

if TYPE_CHECKING:
    from shopkit_server.context import AppContext


# Every dependency here is ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in
# a worker thread, and that hop cost about half of a catalog read.
CONTEXT_SCOPE_KEY = "shopkit.ctx"
"""Where a request finds its shop's context: set by the shop's own app, or, for routes included
in a host app, by the router dependency of :class:`shopkit_server.embed.Shop`."""


async def get_context(request: Request) -> AppContext:
    ctx: AppContext | None = request.scope.get(CONTEXT_SCOPE_KEY)
    if ctx is None:
        raise RuntimeError(
            "no shopkit context on this request: include shopkit routers with "
            "shopkit_server.embed.Shop.include_in(app), not app.include_router"
        )
    return ctx


Context = Annotated["AppContext", Depends(get_context)]

_bearer = HTTPBearer(auto_error=False, description="An access token from /auth/login")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as the access token says (validated locally, no DB trip)."""

    id: str
    role: Role
    token: str  # the raw access token, forwarded when one service calls another for the user

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


async def current_user(
    ctx: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("Missing bearer token.")
    try:
        claims = ctx.tokens.decode(credentials.credentials, TokenType.ACCESS)
    except InvalidToken:
        raise NotAuthenticated("Invalid or expired access token.", code="invalid_token") from None
    assert claims.role is not None
    role = claims.role
    if role is Role.ADMIN:
        # Customers ride on the token alone (no database trip). A token that claims admin is
        # checked against the live account, so a demoted or disabled admin loses admin powers
        # at once on every route, not when the token expires.
        account = await ctx.store.users.get(claims.sub)
        if account is None or not account.is_active:
            raise PermissionDenied("This account is disabled.", code="account_disabled")
        role = account.role
    return Principal(id=claims.sub, role=role, token=credentials.credentials)


async def optional_user(
    ctx: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The caller if a token is sent (a bad one is still a 401), else ``None``."""
    if credentials is None:
        return None
    return await current_user(ctx, credentials)


async def admin_user(user: Annotated[Principal, Depends(current_user)]) -> Principal:
    """An admin: ``current_user`` has already checked a claimed admin role against the account."""
    if not user.is_admin:
        raise PermissionDenied("Admins only.")
    return user


async def service_caller(
    ctx: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """A peer service presenting a service token (``/internal`` routes); users are refused."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("Missing service token.")
    try:
        claims = ctx.tokens.decode(credentials.credentials, TokenType.SERVICE)
    except InvalidToken:
        raise NotAuthenticated("A service token is required.", code="invalid_token") from None
    return claims.sub


CurrentUser = Annotated[Principal, Depends(current_user)]
ServiceCaller = Annotated[str, Depends(service_caller)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]
AdminUser = Annotated[Principal, Depends(admin_user)]
