"""Request and response bodies of the auth service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shopkit_server.auth.models import SavedAddress, User
from shopkit_server.cart.schemas import CartMergeOut
from shopkit_server.fields import Flag, Text
from shopkit_server.orders.models import Address
from shopkit_server.orders.schemas import AddressIn
from shopkit_server.security import BCRYPT_MAX_BYTES, IssuedTokens, Role


def _normalise_email(value: str) -> str:
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return checked.normalized.lower()


def _check_password_bytes(value: str) -> str:
    if len(value.encode()) > BCRYPT_MAX_BYTES:
        # bcrypt ignores everything past 72 bytes; refuse rather than silently truncate.
        raise ValueError(f"must be at most {BCRYPT_MAX_BYTES} bytes in UTF-8")
    return value


Email = Annotated[str, Field(max_length=254), AfterValidator(_normalise_email)]
NewPassword = Annotated[str, Field(min_length=8), AfterValidator(_check_password_bytes)]
# Login accepts any string: a wrong one is a 401, not a hint about the password rules.
AnyPassword = Annotated[str, Field(min_length=1, max_length=1024)]
Name = Annotated[str, Text(100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterRequest(_Strict):
    email: Email
    password: NewPassword
    name: Name


class LoginRequest(_Strict):
    email: Annotated[str, Field(min_length=1, max_length=254)]
    password: AnyPassword


class RefreshRequest(_Strict):
    refresh_token: Annotated[str, Field(min_length=1, max_length=4096)]


class UpdateMeRequest(_Strict):
    """Only these fields; role, is_active or password_hash in the body are a 422."""

    name: Name | None = None
    email: Email | None = None


class ChangePasswordRequest(_Strict):
    current_password: AnyPassword
    new_password: NewPassword


class UpdateUserRequest(_Strict):
    role: Role | None = None
    is_active: Flag | None = None


class UserPublic(BaseModel):
    id: str
    email: str
    name: str
    role: Role
    is_active: bool
    email_verified: bool
    created_at: datetime
    last_login: datetime | None

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            is_active=user.is_active,
            email_verified=user.email_verified,
            created_at=user.created_at,
            last_login=user.last_login,
        )


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth 2 type name
    expires_in: int

    @classmethod
    def of(cls, issued: IssuedTokens) -> Tokens:
        return cls(
            access_token=issued.access_token,
            refresh_token=issued.refresh_token,
            expires_in=issued.expires_in,
        )


class AuthResult(BaseModel):
    user: UserPublic
    tokens: Tokens
    cart_merge: CartMergeOut | None = Field(
        default=None,
        description="What became of the guest cart sent as X-Cart-Token (absent: none sent)",
    )


Token = Annotated[str, Field(min_length=1, max_length=200)]


class PasswordResetRequest(_Strict):
    email: Email


class PasswordResetConfirm(_Strict):
    token: Token
    new_password: NewPassword


class VerifyEmailRequest(_Strict):
    token: Token


class Accepted(BaseModel):
    detail: str


class AddressCreate(AddressIn):
    is_default: Flag = False

    def to_domain(self) -> Address:
        return Address(**self.model_dump(exclude={"is_default"}))


class AddressPatch(_Strict):
    """Only the fields sent change; the result is checked as a whole, as on create."""

    full_name: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    phone: str | None = None
    is_default: Flag | None = Field(default=None, description="true makes it the default")


class SavedAddressOut(BaseModel):
    id: str
    full_name: str
    address_line1: str
    address_line2: str | None
    city: str
    state: str | None
    postal_code: str
    country: str
    phone: str
    is_default: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, entry: SavedAddress) -> SavedAddressOut:
        a = entry.address
        return cls(
            id=entry.id,
            full_name=a.full_name,
            address_line1=a.address_line1,
            address_line2=a.address_line2,
            city=a.city,
            state=a.state,
            postal_code=a.postal_code,
            country=a.country,
            phone=a.phone,
            is_default=entry.is_default,
            created_at=entry.created_at,
            updated_at=entry.updated_at,
        )


class SavedAddressList(BaseModel):
    items: list[SavedAddressOut]
