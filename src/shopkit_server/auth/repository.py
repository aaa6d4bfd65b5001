"""Storage interface of the auth service (implemented in shopkit_server.store.*)."""

from typing import Protocol


class UserRepository(Protocol):
    """Users."""


class RefreshTokenRepository(Protocol):
    """Issued refresh tokens."""
