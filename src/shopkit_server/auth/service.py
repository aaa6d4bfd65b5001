"""Auth service logic (no HTTP, no database driver)."""

from __future__ import annotations

from shopkit_server.auth.repository import RefreshTokenRepository, UserRepository
from shopkit_server.security import PasswordHasher, TokenCodec


class AuthService:
    def __init__(
        self,
        *,
        users: UserRepository,
        refresh_tokens: RefreshTokenRepository,
        tokens: TokenCodec,
        passwords: PasswordHasher,
    ) -> None:
        self.users = users
        self.refresh_tokens = refresh_tokens
        self.tokens = tokens
        self.passwords = passwords
