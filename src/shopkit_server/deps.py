"""FastAPI dependencies shared by every service: the app context and who is calling."""

from __future__ import annotations

from dataclasses import dataclass
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
    from shopkit_server.context import AppContext


# Every dependency here is ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in
# a worker thread, and that hop cost about half of a catalog read.
async def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


Context = Annotated["AppContext", Depends(get_context)]

_bearer = HTTPBearer(
    auto_error=False, scheme_name="bearer", description="An access token from /auth/login"
)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as the access token says (validated locally, no DB trip)."""

    id: str
    role: Role
    token: str  # the raw access token, forwarded when one service calls another for the user

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@raises(NotAuthenticated, InvalidAccessToken, AccountDisabled)
async def current_user(
    ctx: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("Missing bearer token.")
    try:
        claims = ctx.tokens.decode(credentials.credentials, TokenType.ACCESS)
    except InvalidToken:
        raise InvalidAccessToken() from None
    assert claims.role is not None
    role = claims.role
    if role is Role.ADMIN:
        # Customers ride on the token alone (no database trip). A token that claims admin is
        # checked against the live account, so a demoted or disabled admin loses admin powers
        # at once on every route, not when the token expires.
        account = await ctx.store.users.get(claims.sub)
        if account is None or not account.is_active:
            raise AccountDisabled()
        role = account.role
    return Principal(id=claims.sub, role=role, token=credentials.credentials)


@raises(NotAuthenticated, InvalidAccessToken, AccountDisabled)
async def optional_user(
    ctx: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The caller if a token is sent (a bad one is still a 401), else ``None``."""
    if credentials is None:
        return None
    return await current_user(ctx, credentials)


@raises(AdminOnly)
async def admin_user(user: Annotated[Principal, Depends(current_user)]) -> Principal:
    """An admin: ``current_user`` has already checked a claimed admin role against the account."""
    if not user.is_admin:
        raise AdminOnly()
    return user


@raises(NotAuthenticated, InvalidAccessToken)
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
        raise InvalidAccessToken("A service token is required.") from None
    return claims.sub


CurrentUser = Annotated[Principal, Depends(current_user)]
ServiceCaller = Annotated[str, Depends(service_caller)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]
AdminUser = Annotated[Principal, Depends(admin_user)]
