"""One contract for every ThrottleStore: the in-process one and the Redis one (real server).

The in-process store runs on a frozen clock, so its durations are exact; Redis counts real
time, so a duration read back is at most what was set and within a second of it. Expiry on
the in-process store is tested on a moving fake clock in tests/server/auth/test_throttling.py;
on Redis it is the keys' TTLs, read back below.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from structlog.testing import capture_logs

from shopkit_server.replicas.throttle import FailoverThrottleStore, RedisThrottleStore
from shopkit_server.throttle import MemoryThrottleStore, ThrottleStore
from tests.redis_support import CLOSED_REDIS_URL


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client: Redis = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture(params=["memory", "redis"])
def throttle(request: pytest.FixtureRequest) -> ThrottleStore:
    if request.param == "memory":
        return MemoryThrottleStore(clock=lambda: 1000.0)
    client: Redis = request.getfixturevalue("redis")
    prefix: str = request.getfixturevalue("redis_prefix")
    return RedisThrottleStore(client, prefix)


def _about(value: float, expected: float) -> bool:
    return expected - 1.0 < value <= expected


async def test_the_back_off_starts_after_the_free_failures_and_doubles_to_the_cap(
    throttle: ThrottleStore,
) -> None:
    locks = [await throttle.fail("k", free=2, base=1.0, cap=8.0) for _ in range(7)]
    assert locks == [0.0, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert _about(await throttle.locked_for("k"), 8.0)
    assert await throttle.locked_for("other") == 0.0


async def test_a_success_clears_failures_and_lock(throttle: ThrottleStore) -> None:
    for _ in range(3):
        await throttle.fail("k", free=2, base=1.0, cap=8.0)
    assert await throttle.locked_for("k") > 0
    await throttle.clear("k")
    assert await throttle.locked_for("k") == 0.0
    # The count started over: the next failure is free again.
    assert await throttle.fail("k", free=2, base=1.0, cap=8.0) == 0.0


async def test_a_window_admits_its_limit_then_says_how_long_to_wait(
    throttle: ThrottleStore,
) -> None:
    assert await throttle.hit("w", limit=2, window=10) == 0.0
    assert await throttle.hit("w", limit=2, window=10) == 0.0
    assert _about(await throttle.hit("w", limit=2, window=10), 10.0)
    assert _about(await throttle.hit("w", limit=2, window=10), 10.0)  # refused: not counted
    assert await throttle.hit("elsewhere", limit=2, window=10) == 0.0
    assert _about(await throttle.hit("none", limit=0, window=5), 5.0)


async def test_redis_keys_expire_like_the_memory_stores_entries(
    redis: Redis, redis_prefix: str
) -> None:
    throttle = RedisThrottleStore(redis, redis_prefix)
    await throttle.hit("w", limit=5, window=10)
    await throttle.hit("w", limit=5, window=10)  # a later hit does not extend the window
    assert 9000 < await redis.pttl(f"{redis_prefix}throttle:w:w") <= 10000
    await throttle.fail("k", free=1, base=2.0, cap=30.0)
    # Failures are forgotten `cap` after the last one; the lock lasts its length.
    assert 29000 < await redis.pttl(f"{redis_prefix}throttle:f:k") <= 30000
    assert 1000 < await redis.pttl(f"{redis_prefix}throttle:l:k") <= 2000


async def test_concurrent_hits_from_two_processes_count_exactly_once_each(
    redis_url: str, redis_prefix: str
) -> None:
    clients: list[Redis] = [Redis.from_url(redis_url) for _ in range(2)]
    stores = [RedisThrottleStore(c, redis_prefix) for c in clients]
    try:
        waits = await asyncio.gather(
            *(stores[i % 2].hit("shared", limit=10, window=60) for i in range(40))
        )
        failures = await asyncio.gather(
            *(stores[i % 2].fail("acct", free=5, base=1.0, cap=60.0) for i in range(8))
        )
    finally:
        for client in clients:
            await client.aclose()
    assert sum(1 for wait in waits if wait == 0) == 10
    # Eight failures counted once each, whatever the interleaving: locks of 1, 2, 4 s.
    assert sorted(failures) == [0.0] * 4 + [1.0, 2.0, 4.0, 8.0]


async def test_with_redis_down_the_failover_store_throttles_per_process() -> None:
    down: Redis = Redis.from_url(CLOSED_REDIS_URL, socket_connect_timeout=0.2)
    store = FailoverThrottleStore(RedisThrottleStore(down, "shopkit-test-down:"))
    try:
        with capture_logs() as logs:
            assert await store.hit("w", limit=1, window=60) == 0.0
        assert [e["event"] for e in logs] == ["redis_throttle_unavailable"]
        assert logs[0]["log_level"] == "warning"
        assert await store.hit("w", limit=1, window=60) > 0  # still limited, in this process
        assert await store.fail("k", free=1, base=5.0, cap=60.0) == 5.0
        assert await store.locked_for("k") > 0
        await store.clear("k")
        assert await store.locked_for("k") == 0.0
    finally:
        await down.aclose()
