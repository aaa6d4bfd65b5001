"""Throttle state: attempt counters and failure back-off, keyed by plain strings.

The policy (which keys, which limits) lives with its user (auth/throttle.py); this module only
keeps counts. :class:`ThrottleStore` is the interface, async and keyed, so that a store shared
by every replica (Redis: ``INCR`` + ``PEXPIRE`` for a window, a lock key with a TTL for a
back-off; ``replicas/throttle.py``, used when ``SHOPKIT_REDIS_URL`` is set) drops in for
:class:`MemoryThrottleStore`, which serves one process.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar


class ThrottleStore(Protocol):
    async def hit(self, key: str, *, limit: int, window: float) -> float:
        """Count one attempt in ``key``'s fixed window of ``window`` seconds.

        Returns 0 when the attempt is within ``limit``, else the seconds until the window
        ends (the attempt is refused and not counted).
        """

    async def locked_for(self, key: str) -> float:
        """Seconds left on ``key``'s back-off (0: not locked)."""

    async def fail(self, key: str, *, free: int, base: float, cap: float) -> float:
        """Count a failure. From the ``free``-th failure on, lock ``key`` for ``base`` seconds,
        doubling with each further failure up to ``cap``; returns the lock's length (0: none).

        Failures are forgotten ``cap`` seconds after the last one.
        """

    async def clear(self, key: str) -> None:
        """Forget ``key``'s failures and back-off (a success)."""


@dataclass
class _Window:
    ends: float
    count: int

    @property
    def expires(self) -> float:
        return self.ends


@dataclass
class _Failures:
    count: int
    locked_until: float
    forget_at: float

    @property
    def expires(self) -> float:
        return self.forget_at


class _Expiring(Protocol):
    @property
    def expires(self) -> float: ...


_E = TypeVar("_E", bound=_Expiring)


class _Table(Generic[_E]):
    """Entries by key, least recently written first, in bounded memory.

    Expired entries are swept once the table has doubled since the last sweep (so a sweep's
    cost is paid for by the inserts that preceded it: amortized O(1) per insert, where sweeping
    on every insert past a threshold was O(n) each). Past ``max_keys`` live entries the least
    recently written one is dropped: a flood of fresh keys costs bounded memory, at the price of
    forgetting its oldest counts (a store shared by replicas, such as Redis, has its own bound).
    """

    def __init__(self, *, prune_above: int, max_keys: int) -> None:
        self.entries: OrderedDict[str, _E] = OrderedDict()
        self._prune_above = prune_above
        self._next_prune = prune_above
        self._max_keys = max_keys
        self.prune_passes = 0  # sweeps so far, and entries they looked at (for tests)
        self.scanned = 0

    def get(self, key: str) -> _E | None:
        return self.entries.get(key)

    def put(self, key: str, entry: _E, now: float) -> _E:
        self.entries.pop(key, None)
        if len(self.entries) >= self._next_prune:
            self._prune(now)
        while len(self.entries) >= self._max_keys:
            self.entries.popitem(last=False)
        self.entries[key] = entry
        return entry

    def touch(self, key: str) -> None:
        self.entries.move_to_end(key)

    def pop(self, key: str) -> None:
        self.entries.pop(key, None)

    def _prune(self, now: float) -> None:
        self.prune_passes += 1
        self.scanned += len(self.entries)
        self.entries = OrderedDict((k, e) for k, e in self.entries.items() if e.expires > now)
        self._next_prune = max(self._prune_above, 2 * len(self.entries))


class MemoryThrottleStore:
    """One process's throttle state, in memory: expired entries are swept as it grows
    (amortized), and at most ``max_keys`` keys are kept per kind (the oldest go first)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        prune_above: int = 10_000,
        max_keys: int = 200_000,
    ) -> None:
        self._clock = clock
        self._windows: _Table[_Window] = _Table(prune_above=prune_above, max_keys=max_keys)
        self._failures: _Table[_Failures] = _Table(prune_above=prune_above, max_keys=max_keys)

    async def hit(self, key: str, *, limit: int, window: float) -> float:
        now = self._clock()
        current = self._windows.get(key)
        if current is None or current.ends <= now:
            current = self._windows.put(key, _Window(ends=now + window, count=0), now)
        if current.count >= limit:
            return current.ends - now
        current.count += 1
        return 0.0

    async def locked_for(self, key: str) -> float:
        entry = self._failures.get(key)
        if entry is None:
            return 0.0
        return max(0.0, entry.locked_until - self._clock())

    async def fail(self, key: str, *, free: int, base: float, cap: float) -> float:
        now = self._clock()
        entry = self._failures.get(key)
        if entry is None or entry.forget_at <= now:
            entry = self._failures.put(
                key, _Failures(count=0, locked_until=now, forget_at=now), now
            )
        else:
            self._failures.touch(key)
        entry.count += 1
        entry.forget_at = now + cap
        over = entry.count - free
        if over < 0:
            return 0.0
        length = min(cap, base * 2.0 ** min(over, 32))
        entry.locked_until = now + length
        return length

    async def clear(self, key: str) -> None:
        self._failures.pop(key)
