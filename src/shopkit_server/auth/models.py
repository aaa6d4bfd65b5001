"""Domain records of the auth service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shopkit_server.orders.models import Address
from shopkit_server.security import Role

# The most addresses one account's address book holds.
MAX_ADDRESSES = 20


@dataclass(frozen=True)
class User:
    id: str
    email: str  # trimmed and lower-cased
    name: str
    role: Role
    is_active: bool
    created_at: datetime
    last_login: datetime | None
    password_hash: str  # never leaves the service: schemas.UserPublic has no such field
    email_verified: bool = False
    # Bumped by a password reset: access and refresh tokens carry the version they were issued
    # with, and one older than the account's is refused (accounts.py, deps.py).
    token_version: int = 0


@dataclass(frozen=True)
class UserChanges:
    """A partial update; ``None`` leaves a field as it is."""

    name: str | None = None
    email: str | None = None
    role: Role | None = None
    is_active: bool | None = None
    password_hash: str | None = None
    last_login: datetime | None = None
    email_verified: bool | None = None
    bump_token_version: bool = False  # add one to ``token_version`` in the same write


class TokenPurpose(StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose name
    EMAIL_VERIFICATION = "email_verification"


@dataclass(frozen=True)
class AccountToken:
    """A single-use token mailed to an account. Only its SHA-256 hash is ever stored."""

    token_hash: str
    user_id: str
    purpose: TokenPurpose
    email: str  # the address it was sent to (verification proves this address, no other)
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class SavedAddress:
    """An entry of a user's address book; checkout copies ``address`` into the order."""

    id: str
    user_id: str
    address: Address
    is_default: bool
    created_at: datetime
    updated_at: datetime


class AddressLimitReached(Exception):
    """Raised by a repository when an add would give the book more than its limit."""
