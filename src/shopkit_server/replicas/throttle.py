"""Sign-in throttle state in Redis, shared by every process (see :class:`ThrottleStore`).

Each operation is one Lua script, so it is atomic however many processes count at once:

- a window is a counter key, ``INCR`` + ``PEXPIRE`` on its first attempt (a fixed window);
- failures are a counter key whose TTL is reset to the cap on every failure (forgotten
  ``cap`` seconds after the last one), and a back-off is a lock key whose TTL is the lock.

Durations go to Redis in whole milliseconds (rounded up), and come back in seconds.

:class:`FailoverThrottleStore` is what the app uses: while Redis does not answer, attempts are
counted by the process's own :class:`MemoryThrottleStore` (fail-open to per-process limits, as
without Redis, never to no limit at all), with a warning logged at most every few seconds.
"""

from __future__ import annotations

import math
import time

import structlog
from redis.asyncio import Redis

from shopkit_server.replicas.bus import REDIS_ERRORS
from shopkit_server.throttle import MemoryThrottleStore, ThrottleStore

log = structlog.get_logger("shopkit.replicas")

# KEYS[1] window; ARGV limit, window ms. Refused attempts are not counted.
_HIT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  local left = redis.call('PTTL', KEYS[1])
  if left < 0 then
    redis.call('SET', KEYS[1], count, 'PX', ARGV[2])
    left = tonumber(ARGV[2])
  end
  return left
end
if redis.call('INCR', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS[1] failures, KEYS[2] lock; ARGV free, base ms, cap ms. Returns the lock's ms (0: none).
_FAIL = """
local count = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local over = count - tonumber(ARGV[1])
if over < 0 then
  return 0
end
local length = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) * 2 ^ math.min(over, 32))
length = math.ceil(length)
redis.call('SET', KEYS[2], '1', 'PX', length)
return length
"""


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


class RedisThrottleStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}throttle:"
        self._hit = redis.register_script(_HIT)
        self._fail = redis.register_script(_FAIL)

    def _keys(self, key: str) -> tuple[str, str, str]:
        base = self._prefix
        return f"{base}w:{key}", f"{base}f:{key}", f"{base}l:{key}"

    async def hit(self, key: str, *, limit: int, window: float) -> float:
        window_key, _, _ = self._keys(key)
        left = await self._hit(keys=[window_key], args=[limit, _ms(window)])
        return int(left) / 1000

    async def locked_for(self, key: str) -> float:
        _, _, lock_key = self._keys(key)
        left = int(await self._redis.pttl(lock_key))
        return max(0, left) / 1000

    async def fail(self, key: str, *, free: int, base: float, cap: float) -> float:
        _, failures_key, lock_key = self._keys(key)
        length = await self._fail(keys=[failures_key, lock_key], args=[free, base * 1000, _ms(cap)])
        return int(length) / 1000

    async def clear(self, key: str) -> None:
        _, failures_key, lock_key = self._keys(key)
        await self._redis.delete(failures_key, lock_key)


_WARN_EVERY = 10.0


class FailoverThrottleStore:
    """Redis first; the process's own store while Redis fails (logged, at most every 10 s)."""

    def __init__(self, primary: ThrottleStore, fallback: ThrottleStore | None = None) -> None:
        self.primary = primary
        self.fallback = fallback or MemoryThrottleStore()
        self._warned_at = -math.inf

    def _failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            log.warning(
                "redis_throttle_unavailable",
                error=type(exc).__name__,
                fallback="per-process throttling until Redis answers",
            )

    async def hit(self, key: str, *, limit: int, window: float) -> float:
        try:
            return await self.primary.hit(key, limit=limit, window=window)
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return await self.fallback.hit(key, limit=limit, window=window)

    async def locked_for(self, key: str) -> float:
        try:
            return await self.primary.locked_for(key)
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return await self.fallback.locked_for(key)

    async def fail(self, key: str, *, free: int, base: float, cap: float) -> float:
        try:
            return await self.primary.fail(key, free=free, base=base, cap=cap)
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return await self.fallback.fail(key, free=free, base=base, cap=cap)

    async def clear(self, key: str) -> None:
        try:
            await self.primary.clear(key)
        except REDIS_ERRORS as exc:
            self._failed(exc)
        # A success clears this process's fallback state too (it may hold failures counted
        # while Redis was down).
        await self.fallback.clear(key)
