"""HTTP routes of the auth service (API.md, "Auth service")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from shopkit_server.auth.errors import (
    AccountDisabled,
    CannotChangeSelf,
    EmailTaken,
    InvalidCredentials,
    InvalidRefreshToken,
    UserNotFound,
)
from shopkit_server.auth.schemas import (
    AuthResult,
    ChangePasswordRequest,
    LoginRequest,
    RefreshRequest,
    RegisterRequest,
    Tokens,
    UpdateMeRequest,
    UpdateUserRequest,
    UserPublic,
)
from shopkit_server.deps import ActiveUser, AdminUser, Context, CurrentUser
from shopkit_server.errors import NotFound, ServerBusy, TooManyAttempts, raises
from shopkit_server.ids import is_valid_id
from shopkit_server.pagination import Page, PageQuery
from shopkit_server.routing import ShopRoute

router = APIRouter(prefix="/auth", tags=["auth"], route_class=ShopRoute)


@router.post("/register", status_code=status.HTTP_201_CREATED)
@raises(EmailTaken, TooManyAttempts, ServerBusy)
async def register(body: RegisterRequest, ctx: Context, request: Request) -> AuthResult:
    """Create a customer account and sign it in (throttled per client address: 429)."""
    user, issued = await ctx.auth.register(
        email=body.email, password=body.password, name=body.name, client=ctx.client_of(request)
    )
    return AuthResult(user=UserPublic.of(user), tokens=Tokens.of(issued))


@router.post("/login")
@raises(InvalidCredentials, AccountDisabled, TooManyAttempts, ServerBusy)
async def login(body: LoginRequest, ctx: Context, request: Request) -> AuthResult:
    """Exchange email and password for a token pair (throttled per address and account: 429)."""
    user, issued = await ctx.auth.login(
        email=body.email, password=body.password, client=ctx.client_of(request)
    )
    return AuthResult(user=UserPublic.of(user), tokens=Tokens.of(issued))


@router.post("/refresh")
@raises(InvalidRefreshToken, AccountDisabled)
async def refresh_tokens(body: RefreshRequest, ctx: Context) -> Tokens:
    """Trade a refresh token for a new pair; the old refresh token stops working."""
    return Tokens.of(await ctx.auth.refresh(body.refresh_token))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
@raises(InvalidRefreshToken)
async def logout(body: RefreshRequest, user: CurrentUser, ctx: Context) -> Response:
    """Revoke a refresh token of the caller's."""
    await ctx.auth.logout(user_id=user.id, refresh_token=body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me")
@raises(AccountDisabled, UserNotFound)
async def get_me(user: CurrentUser, ctx: Context) -> UserPublic:
    """The caller's profile."""
    return UserPublic.of(await ctx.auth.me(user.id))


@router.patch("/me")
@raises(EmailTaken, UserNotFound)
async def update_me(body: UpdateMeRequest, user: ActiveUser, ctx: Context) -> UserPublic:
    """Change the caller's name or email."""
    updated = await ctx.auth.update_me(user.id, name=body.name, email=body.email)
    return UserPublic.of(updated)


@router.post("/change-password")
@raises(InvalidCredentials, UserNotFound, TooManyAttempts, ServerBusy)
async def change_password(
    body: ChangePasswordRequest, user: ActiveUser, ctx: Context, request: Request
) -> Tokens:
    """Set a new password; every earlier refresh token is revoked and a fresh pair returned."""
    issued = await ctx.auth.change_password(
        user.id,
        current_password=body.current_password,
        new_password=body.new_password,
        client=ctx.client_of(request),
    )
    return Tokens.of(issued)


@router.get("/users")
async def list_users(
    _: AdminUser,
    ctx: Context,
    page: PageQuery,
    q: Annotated[str | None, Query(max_length=200, description="part of an email or name")] = None,
) -> Page[UserPublic]:
    """Every account, newest first (admin)."""
    result = await ctx.auth.list_users(query=q or None, page=page)
    return Page.build([UserPublic.of(u) for u in result.items], result.total, page)


@router.patch("/users/{user_id}")
@raises(CannotChangeSelf, UserNotFound)
async def update_user(
    user_id: str, body: UpdateUserRequest, admin: AdminUser, ctx: Context
) -> UserPublic:
    """Promote, demote, disable or re-enable an account (admin)."""
    if not is_valid_id(user_id):
        raise NotFound("User not found.", code="user_not_found")
    updated = await ctx.auth.update_user(
        actor_id=admin.id, user_id=user_id, role=body.role, is_active=body.is_active
    )
    return UserPublic.of(updated)
