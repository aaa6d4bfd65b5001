"""HTTP routes of the auth service (API.md, "Auth service")."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query, Request, Response, status

from shopkit_server.auth.addresses_router import router as addresses_router
from shopkit_server.auth.errors import (
    AccountDisabled,
    CannotChangeSelf,
    EmailAlreadyVerified,
    EmailTaken,
    InvalidCredentials,
    InvalidRefreshToken,
    InvalidResetToken,
    InvalidVerificationToken,
    UserNotFound,
)
from shopkit_server.auth.schemas import (
    Accepted,
    AuthResult,
    ChangePasswordRequest,
    LoginRequest,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    RegisterRequest,
    Tokens,
    UpdateMeRequest,
    UpdateUserRequest,
    UserPublic,
    VerifyEmailRequest,
)
from shopkit_server.auth.service import SignIn
from shopkit_server.cart.schemas import CartMergeOut
from shopkit_server.deps import ActiveUser, AdminUser, Context, CurrentUser
from shopkit_server.errors import NotFound, ServerBusy, TooManyAttempts, raises
from shopkit_server.ids import is_valid_id
from shopkit_server.pagination import Page, PageQuery
from shopkit_server.routing import ShopRouter

router = ShopRouter(prefix="/auth", tags=["auth"])

CartToken = Annotated[
    str | None,
    Header(
        alias="X-Cart-Token",
        max_length=200,
        description="A guest cart to merge into the account's cart (reported as cart_merge)",
    ),
]
_RESET_ACCEPTED = "If an account has this email, a reset mail is on its way."
_MAIL_ACCEPTED = "A mail is on its way."


def _result(sign_in: SignIn) -> AuthResult:
    merge = sign_in.cart_merge
    return AuthResult(
        user=UserPublic.of(sign_in.user),
        tokens=Tokens.of(sign_in.tokens),
        cart_merge=CartMergeOut.of(merge) if merge is not None else None,
    )


@router.post("/register", status_code=status.HTTP_201_CREATED)
@raises(EmailTaken, TooManyAttempts, ServerBusy)
async def register(
    body: RegisterRequest, ctx: Context, request: Request, cart_token: CartToken = None
) -> AuthResult:
    """Create a customer account and sign it in (throttled per client address: 429).

    A verification mail goes to the address. With `X-Cart-Token` the guest cart is merged
    into the new account's cart (`cart_merge`).
    """
    sign_in = await ctx.auth.register(
        email=body.email,
        password=body.password,
        name=body.name,
        client=ctx.client_of(request),
        cart_token=cart_token or None,
    )
    return _result(sign_in)


@router.post("/login")
@raises(InvalidCredentials, AccountDisabled, TooManyAttempts, ServerBusy)
async def login(
    body: LoginRequest, ctx: Context, request: Request, cart_token: CartToken = None
) -> AuthResult:
    """Exchange email and password for a token pair (throttled per address and account: 429).

    With `X-Cart-Token` the guest cart is merged into the account's cart, once (`cart_merge`).
    """
    sign_in = await ctx.auth.login(
        email=body.email,
        password=body.password,
        client=ctx.client_of(request),
        cart_token=cart_token or None,
    )
    return _result(sign_in)


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED)
@raises(TooManyAttempts)
async def request_password_reset(
    body: PasswordResetRequest, ctx: Context, request: Request
) -> Accepted:
    """Mail a password-reset token to the address if an account has it.

    Always 202, in the same time, whether or not the account exists (throttled per address).
    """
    await ctx.recovery.request_password_reset(body.email, client=ctx.client_of(request))
    return Accepted(detail=_RESET_ACCEPTED)


@router.post("/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT)
@raises(InvalidResetToken, TooManyAttempts, ServerBusy)
async def confirm_password_reset(
    body: PasswordResetConfirm, ctx: Context, request: Request
) -> Response:
    """Set a new password with a mailed token (single use); every session of the account ends.

    Throttled like a login (429).
    """
    await ctx.recovery.confirm_password_reset(
        body.token, body.new_password, client=ctx.client_of(request)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/verify-email")
@raises(InvalidVerificationToken, TooManyAttempts)
async def verify_email(body: VerifyEmailRequest, ctx: Context, request: Request) -> UserPublic:
    """Confirm an email address with the mailed token (single use)."""
    user = await ctx.recovery.verify_email(body.token, client=ctx.client_of(request))
    return UserPublic.of(user)


@router.post("/verify-email/resend", status_code=status.HTTP_202_ACCEPTED)
@raises(EmailAlreadyVerified, UserNotFound, TooManyAttempts)
async def resend_verification(user: ActiveUser, ctx: Context) -> Accepted:
    """Mail a new verification token to the caller's address (throttled per account: 429)."""
    await ctx.recovery.resend_verification(user.id)
    return Accepted(detail=_MAIL_ACCEPTED)


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


@router.post("/users/{user_id}/password-reset", status_code=status.HTTP_202_ACCEPTED)
@raises(UserNotFound)
async def send_user_password_reset(user_id: str, _: AdminUser, ctx: Context) -> Accepted:
    """Mail a password-reset token to an account (admin)."""
    if not is_valid_id(user_id):
        raise NotFound("User not found.", code="user_not_found")
    await ctx.recovery.send_password_reset(user_id)
    return Accepted(detail=_MAIL_ACCEPTED)


@router.post("/users/{user_id}/verification", status_code=status.HTTP_202_ACCEPTED)
@raises(UserNotFound, EmailAlreadyVerified)
async def send_user_verification(user_id: str, _: AdminUser, ctx: Context) -> Accepted:
    """Mail a new verification token to an account (admin; not throttled)."""
    if not is_valid_id(user_id):
        raise NotFound("User not found.", code="user_not_found")
    await ctx.recovery.resend_verification(user_id, throttled=False)
    return Accepted(detail=_MAIL_ACCEPTED)


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


router.include_router(addresses_router)
