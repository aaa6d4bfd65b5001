"""Live account state: what a route asks when a token's word is not enough.

Access tokens are stateless, so a token outlives a deactivation or a demotion by up to its
lifetime. Admin routes and every state-changing customer route ask this directory instead;
catalog reads never do (no database trip on the hot path).

:class:`StoreAccountDirectory` reads the shared store (every process, also when services run
apart, opens the same store). With replicas (``SHOPKIT_REDIS_URL``) :class:`CachingAccountDirectory`
stands in front of it: states are kept in memory and dropped when any process publishes a
change of role or status, so a deactivation is seen by every replica without a database trip.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from shopkit_server.auth.repository import UserRepository
from shopkit_server.security import Role


@dataclass(frozen=True)
class AccountState:
    role: Role
    is_active: bool
    token_version: int = 0  # tokens issued with an older version are refused
    email_verified: bool = False


class AccountDirectory(Protocol):
    async def state(self, user_id: str) -> AccountState | None:
        """The account's current role and status (``None``: no such account)."""


class StoreAccountDirectory:
    """Reads the account from the store on every call (one primary-key lookup)."""

    def __init__(self, users: UserRepository) -> None:
        self._users = users

    async def state(self, user_id: str) -> AccountState | None:
        user = await self._users.get(user_id)
        if user is None:
            return None
        return AccountState(
            role=user.role,
            is_active=user.is_active,
            token_version=user.token_version,
            email_verified=user.email_verified,
        )


class CachingAccountDirectory:
    """Account states kept in memory while ``listening()`` says changes are heard.

    Sound only because every change of role or status is published (the auth service's
    ``on_account_change``) and heard by every process: :meth:`forget` drops one account,
    :meth:`forget_all` everything (a lost subscription may have missed some). While not
    listening, every call reads the store. ``max_age`` bounds what a change made outside the
    auth service (a script writing the store) can leave behind.

    A state read from the store is kept only if no change was heard while it was read: a
    deactivation published during the read would otherwise be undone by the older answer.
    """

    def __init__(
        self,
        inner: AccountDirectory,
        listening: Callable[[], bool],
        *,
        max_entries: int = 10_000,
        max_age: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self._listening = listening
        self._max_entries = max_entries
        self._max_age = max_age
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, AccountState]] = OrderedDict()
        self._changes = 0  # changes heard so far

    async def state(self, user_id: str) -> AccountState | None:
        if not self._listening():
            return await self.inner.state(user_id)
        now = self._clock()
        kept = self._entries.get(user_id)
        if kept is not None and now - kept[0] < self._max_age:
            self._entries.move_to_end(user_id)
            return kept[1]
        before = self._changes
        state = await self.inner.state(user_id)
        if state is not None and before == self._changes and self._listening():
            self._entries[user_id] = (now, state)
            self._entries.move_to_end(user_id)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return state

    def forget(self, user_id: str) -> None:
        self._changes += 1
        self._entries.pop(user_id, None)

    def forget_all(self) -> None:
        self._changes += 1
        self._entries.clear()
