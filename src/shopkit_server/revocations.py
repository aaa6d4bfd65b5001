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
from collections import OrderedDict
from collections.abc import Awaitable, Callable


class RevokedFamilies:
    def __init__(
        self,
        keep_for: float,
        *,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keep_for = keep_for
        self._max_entries = max_entries
        self._clock = clock
        self._until: OrderedDict[str, float] = OrderedDict()  # family -> forget after (epoch s)
        # Tells the other processes (set when replicas share a bus); never raises.
        self.announce: Callable[[str, float], Awaitable[object]] | None = None

    def __contains__(self, family: object) -> bool:
        if not isinstance(family, str):
            return False
        until = self._until.get(family)
        if until is None:
            return False
        if until <= self._clock():
            del self._until[family]
            return False
        return True

    def __len__(self) -> int:
        return len(self._until)

    def add(self, family: str, until: float) -> None:
        """Record a revocation (this process's or another's) until ``until`` (epoch seconds)."""
        if until <= self._clock():
            return
        self._until[family] = max(until, self._until.get(family, until))
        self._until.move_to_end(family)
        while len(self._until) > self._max_entries:
            self._until.popitem(last=False)  # the oldest: the store still refuses its refresh

    async def revoke(self, family: str) -> None:
        """A family this process revoked in the store: record it and tell the others."""
        until = self._clock() + self.keep_for
        self.add(family, until)
        if self.announce is not None:
            await self.announce(family, until)
