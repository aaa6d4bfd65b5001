"""Throttle state: attempt counters and failure back-off, keyed by plain strings.

The policy (which keys, which limits) lives with its user (auth/throttle.py); this module only
keeps counts. :class:`ThrottleStore` is the interface, async and keyed, so that a store shared
by every replica (Redis: ``INCR`` + ``PEXPIRE`` for a window, a lock key with a TTL for a
back-off) drops in for :class:`MemoryThrottleStore`, which serves one process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


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


@dataclass
class _Failures:
    count: int
    locked_until: float
    forget_at: float


class MemoryThrottleStore:
    """One process's throttle state, in dicts; expired entries are pruned as it grows."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, prune_above: int = 10_000
    ) -> None:
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._failures: dict[str, _Failures] = {}
        self._prune_above = prune_above

    async def hit(self, key: str, *, limit: int, window: float) -> float:
        now = self._clock()
        current = self._windows.get(key)
        if current is None or current.ends <= now:
            self._prune(now)
            current = self._windows[key] = _Window(ends=now + window, count=0)
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
            self._prune(now)
            entry = self._failures[key] = _Failures(count=0, locked_until=now, forget_at=now)
        entry.count += 1
        entry.forget_at = now + cap
        over = entry.count - free
        if over < 0:
            return 0.0
        length = min(cap, base * 2.0 ** min(over, 32))
        entry.locked_until = now + length
        return length

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    def _prune(self, now: float) -> None:
        if len(self._windows) > self._prune_above:
            self._windows = {k: w for k, w in self._windows.items() if w.ends > now}
        if len(self._failures) > self._prune_above:
            self._failures = {k: f for k, f in self._failures.items() if f.forget_at > now}
