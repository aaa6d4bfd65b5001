"""Domain records of the auth service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shopkit_server.security import Role


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


@dataclass(frozen=True)
class UserChanges:
    """A partial update; ``None`` leaves a field as it is."""

    name: str | None = None
    email: str | None = None
    role: Role | None = None
    is_active: bool | None = None
    password_hash: str | None = None
    last_login: datetime | None = None
