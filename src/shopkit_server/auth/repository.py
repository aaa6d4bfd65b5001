"""Storage interface of the auth service (implemented in shopkit_server.store.*)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

from shopkit_server.auth.models import (
    AccountToken,
    SavedAddress,
    TokenPurpose,
    User,
    UserChanges,
)
from shopkit_server.orders.models import Address
from shopkit_server.pagination import PageResult


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Insert; raises ``DuplicateKeyError("email")`` when the email is taken."""

    async def get(self, user_id: str) -> User | None: ...

    async def get_by_email(self, email: str) -> User | None: ...

    async def update(self, user_id: str, changes: UserChanges) -> User | None:
        """Apply ``changes`` and return the new record (``None``: no such user).

        Raises ``DuplicateKeyError("email")`` when the new email is taken.
        """

    async def list(self, *, query: str | None, offset: int, limit: int) -> PageResult[User]:
        """Newest first; ``query`` matches a substring of the email or the name."""


class RefreshOutcome(StrEnum):
    """What presenting a refresh token did (:meth:`RefreshTokenRepository.rotate`)."""

    ROTATED = "rotated"  # it was live: now spent, and its successor is stored in its family
    REUSED = "reused"  # it was already spent or revoked: its whole family is now revoked
    INVALID = "invalid"  # unknown, another user's, or expired: nothing changed


class RefreshTokenRepository(Protocol):
    """Issued refresh tokens, by ``jti``: what makes rotation and revocation possible.

    Every token belongs to a *family*: the chain of rotations that started with one login
    (the first token's ``family`` is its own ``jti``). Presenting a spent token again is reuse
    (OAuth 2.0 Security BCP): someone holds a copy, so the whole family is revoked, including
    the token the legitimate rotation issued.
    """

    async def add(
        self, jti: str, user_id: str, expires_at: datetime, *, family: str | None = None
    ) -> None:
        """Store a live token; ``family`` defaults to ``jti`` (a new login starts a family)."""

    async def rotate(
        self, jti: str, user_id: str, now: datetime, successor: str, successor_expires_at: datetime
    ) -> RefreshOutcome:
        """Spend ``jti`` and store ``successor`` in its family, as one atomic step.

        Atomic against concurrent calls: of two rotations of one token at most one is
        ``ROTATED``; the other is ``REUSED`` and revokes the family, successor included, in
        whichever order the two run.
        """

    async def revoke(self, jti: str, user_id: str) -> None: ...

    async def revoke_all(self, user_id: str) -> None: ...


class AccountTokenRepository(Protocol):
    """Single-use tokens mailed to accounts (password reset, email verification), by hash."""

    async def add(self, token: AccountToken) -> None:
        """Store a new token (expired ones may be pruned on the way)."""

    async def consume(
        self, token_hash: str, purpose: TokenPurpose, now: datetime
    ) -> AccountToken | None:
        """Spend a live token and return it, in one atomic step; ``None`` when it is unknown,
        of another purpose, expired or already spent. Of two concurrent calls with one token
        at most one gets it."""

    async def revoke_all(self, user_id: str, purpose: TokenPurpose, now: datetime) -> None:
        """Spend every live token of ``purpose`` the account has."""


class AddressRepository(Protocol):
    """Each user's address book. At most one entry per user is the default."""

    async def list(self, user_id: str) -> list[SavedAddress]:
        """The user's addresses, oldest first."""

    async def get(self, user_id: str, address_id: str) -> SavedAddress | None:
        """One of the user's addresses (``None`` also for another user's)."""

    async def add(self, entry: SavedAddress, *, limit: int) -> SavedAddress:
        """Store ``entry``; when it is the default, the user's other entries stop being it.

        The first address of a book is its default whatever ``entry.is_default`` says. Raises
        :class:`~shopkit_server.auth.models.AddressLimitReached` (writing nothing) when the
        user already has ``limit`` addresses; two concurrent adds cannot both pass it.
        """

    async def update(
        self,
        user_id: str,
        address_id: str,
        address: Address,
        *,
        make_default: bool,
        now: datetime,
    ) -> SavedAddress | None:
        """Replace the address (and make it the default when asked); ``None``: not found."""

    async def delete(self, user_id: str, address_id: str) -> bool:
        """Remove one; ``False`` when the user has no such address."""
