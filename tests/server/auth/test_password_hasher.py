"""The password hasher's threads: bounded, and (on Linux) nicer than the event loop."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import pytest

from shopkit_server.security import PasswordHasher
from shopkit_server.settings import Settings

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="niceness is per thread on Linux")


def _niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@linux_only
async def test_hashing_threads_run_nicer_than_the_loop() -> None:
    loop_nice = _niceness()
    hasher = PasswordHasher(rounds=4, concurrency=2, nice=7)
    seen = await asyncio.gather(*(hasher._run(None, _niceness) for _ in range(4)))
    assert set(seen) == {min(19, loop_nice + 7)}
    assert _niceness() == loop_nice  # the loop's own thread is untouched
    assert await hasher.verify("secret-pass", await hasher.hash("secret-pass"))


@linux_only
async def test_nice_zero_leaves_the_threads_alone() -> None:
    hasher = PasswordHasher(rounds=4, concurrency=1, nice=0)
    assert await hasher._run(None, _niceness) == _niceness()


def test_the_default_yields_to_requests() -> None:
    assert Settings.model_fields["password_hash_nice"].default == 19


async def test_at_most_concurrency_hashes_run_even_when_callers_give_up() -> None:
    hasher = PasswordHasher(rounds=4, concurrency=2, queue=8)
    lock = threading.Lock()
    running = peak = started = 0
    release = threading.Event()
    loop = asyncio.get_running_loop()
    both_busy = asyncio.Event()

    def held() -> None:
        nonlocal running, peak, started
        with lock:
            started += 1
            running += 1
            peak = max(peak, running)
            if running == 2:
                loop.call_soon_threadsafe(both_busy.set)
        release.wait(5)
        with lock:
            running -= 1

    calls = [asyncio.ensure_future(hasher._run(None, held)) for _ in range(10)]
    await asyncio.wait_for(both_busy.wait(), 5)
    for call in calls[:6]:  # two running, four queued: the callers give up
        call.cancel()
    await asyncio.wait(calls[:6])  # they have given up (the pool was told) before any ends
    release.set()
    done = await asyncio.gather(*calls, return_exceptions=True)
    assert sum(isinstance(result, asyncio.CancelledError) for result in done) == 6
    assert peak == 2
    assert started == 6  # the two that ran when given up, and the four never given up
    assert hasher._admitted == 0  # every caller's place was given back
