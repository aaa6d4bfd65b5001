"""Storage interface of the auth service (implemented in shopkit_server.store.*)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shopkit_server.auth.models import User, UserChanges
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


class RefreshTokenRepository(Protocol):
    """Issued refresh tokens, by ``jti``: what makes rotation and revocation possible."""

    async def add(self, jti: str, user_id: str, expires_at: datetime) -> None: ...

    async def consume(self, jti: str, user_id: str, now: datetime) -> bool:
        """Revoke the token if it is live; ``True`` only for the one caller that did.

        Atomic: two concurrent refreshes with one token cannot both succeed.
        """

    async def revoke(self, jti: str, user_id: str) -> None: ...

    async def revoke_all(self, user_id: str) -> None: ...
