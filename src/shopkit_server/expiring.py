"""Keys remembered until a time of their own, in bounded memory.

What several layers keep for a while and then forget: revoked refresh-token families (until
no token of theirs can be valid), SQLite reads that spent the loop's budget (for a minute).
Times are whatever clock the owner reads (epoch or monotonic seconds); the owner passes
``now``. Past ``max_entries`` the key added longest ago is dropped first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class ExpiringKeys(Generic[K]):
    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._until: OrderedDict[K, float] = OrderedDict()  # key -> forget after

    def __len__(self) -> int:
        return len(self._until)

    def contains(self, key: K, now: float) -> bool:
        """Whether ``key`` is remembered at ``now`` (an expired key is forgotten on the way)."""
        until = self._until.get(key)
        if until is None:
            return False
        if until <= now:
            del self._until[key]
            return False
        return True

    def add(self, key: K, until: float, now: float) -> None:
        """Remember ``key`` until ``until`` (the later time if it is remembered already); a
        time not after ``now`` is not remembered at all."""
        if until <= now:
            return
        self._until[key] = max(until, self._until.get(key, until))
        self._until.move_to_end(key)
        while len(self._until) > self._max_entries:
            self._until.popitem(last=False)
