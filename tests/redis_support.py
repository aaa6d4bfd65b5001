"""Fixtures for the tests that need a real Redis (``SHOPKIT_REDIS_URL`` features).

The server is ``SHOPKIT_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``). When none
answers those tests are skipped with the reason, unless ``SHOPKIT_REQUIRE_REDIS=1`` (set by
``.ci/run``): then they fail. Every test gets its own key prefix (``shopkit-test-<random>:``,
so runs sharing a server never meet) and its keys are deleted afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from functools import cache

import pytest

TEST_REDIS_URL = os.environ.get("SHOPKIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_REQUIRED = os.environ.get("SHOPKIT_REQUIRE_REDIS") == "1"
# Nothing listens here: a Redis that does not answer.
CLOSED_REDIS_URL = "redis://127.0.0.1:1/0"


@cache
def _unreachable() -> str | None:
    """Why no Redis answers at TEST_REDIS_URL (None: it does)."""
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    return None


def pytest_report_header() -> str:
    why = _unreachable()
    if why is None:
        return f"redis: {TEST_REDIS_URL} (real server)"
    required = " and SHOPKIT_REQUIRE_REDIS=1: those tests FAIL" if REDIS_REQUIRED else ""
    return f"redis: none at {TEST_REDIS_URL} ({why}); Redis tests skipped{required}"


@pytest.fixture(scope="session")
def redis_url() -> str:
    why = _unreachable()
    if why is not None:
        message = f"no Redis answers at {TEST_REDIS_URL} ({why}); set SHOPKIT_TEST_REDIS_URL"
        if REDIS_REQUIRED:
            pytest.fail(f"{message} (SHOPKIT_REQUIRE_REDIS=1: Redis is required)")
        pytest.skip(message)
    return TEST_REDIS_URL


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    from redis.asyncio import Redis

    prefix = f"shopkit-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client: Redis = Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
