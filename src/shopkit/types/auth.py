"""Users and tokens (``/auth``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from shopkit.types._base import ShopkitModel
from shopkit.types.cart import CartMerge

Role = Literal["customer", "admin"]


class User(ShopkitModel):
    id: str
    email: str
    name: str
    # A plain str, not ``Role``: a role a newer server adds must not break reading users.
    role: str
    is_active: bool
    email_verified: bool = False
    created_at: datetime
    last_login: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class TokenPair(ShopkitModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 (the scheme, not a secret)
    expires_in: int
    """Seconds until the access token expires."""


class AuthResult(ShopkitModel):
    """What register and login answer: the user and a fresh token pair."""

    user: User
    tokens: TokenPair
    cart_merge: CartMerge | None = None
    """What became of the guest cart the client handed in (``None``: it had none)."""
