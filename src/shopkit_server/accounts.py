"""Live account state: what a route asks when a token's word is not enough.

Access tokens are stateless, so a token outlives a deactivation or a demotion by up to its
lifetime. Admin routes and every state-changing customer route ask this directory instead;
catalog reads never do (no database trip on the hot path).

Today's directory reads the shared store (every process, also when services run apart, opens
the same store). It is an interface so that a replicated deployment can put a directory in
front that caches states and drops them when a deactivation is published to every replica.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shopkit_server.auth.repository import UserRepository
from shopkit_server.security import Role


@dataclass(frozen=True)
class AccountState:
    role: Role
    is_active: bool


class AccountDirectory(Protocol):
    async def state(self, user_id: str) -> AccountState | None:
        """The account's current role and status (``None``: no such account)."""


class StoreAccountDirectory:
    """Reads the account from the store on every call (one primary-key lookup)."""

    def __init__(self, users: UserRepository) -> None:
        self._users = users

    async def state(self, user_id: str) -> AccountState | None:
        user = await self._users.get(user_id)
        return AccountState(role=user.role, is_active=user.is_active) if user else None
