"""Revoked refresh-token families, known in memory, so a check costs no trip anywhere.

A *family* is the chain of refresh tokens started by one login (auth/repository.py); its id
rides in every token of the chain, access tokens included (the ``fam`` claim). When a spent
refresh token is presented again the store revokes the family (the store stays the source of
truth); the auth service then records the family here, where:

- a refresh of a token of that family is refused before any database trip;
- an access token of that family is refused on every route that checks a caller (a stolen
  token pair stops at once instead of when its access token expires).

Each process keeps the families it revoked or heard of. With replicas (``SHOPKIT_REDIS_URL``)
a revocation is also published and kept in a Redis sorted set (score: when it can be
forgotten), which every process reloads when its subscription comes (back) up. An entry is
kept for the refresh-token lifetime: after that no token of the family can still be valid.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from shopkit_server.expiring import ExpiringKeys


class RevokedFamilies:
    def __init__(
        self,
        keep_for: float,
        *,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keep_for = keep_for
        self._clock = clock
        # Family -> forget after (epoch s). Past max_entries the oldest goes: the store still
        # refuses its refresh.
        self._families: ExpiringKeys[str] = ExpiringKeys(max_entries)
        # Tells the other processes (set when replicas share a bus); never raises.
        self.announce: Callable[[str, float], Awaitable[object]] | None = None

    def __contains__(self, family: object) -> bool:
        return isinstance(family, str) and self._families.contains(family, self._clock())

    def __len__(self) -> int:
        return len(self._families)

    def add(self, family: str, until: float) -> None:
        """Record a revocation (this process's or another's) until ``until`` (epoch seconds)."""
        self._families.add(family, until, self._clock())

    async def revoke(self, family: str) -> None:
        """A family this process revoked in the store: record it and tell the others."""
        until = self._clock() + self.keep_for
        self.add(family, until)
        if self.announce is not None:
            await self.announce(family, until)
