"""What the async client does differently from the sync one: its lock, its sleep, its token
callback. ``shopkit/_sync/_io.py`` is the sync twin; everything else in ``shopkit/_sync`` is
generated from the async code by ``scripts/unasync.py``."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

from shopkit.types.auth import TokenPair

TokenCallback = Callable[[TokenPair], Awaitable[None] | None]
"""Called (sync or async) with every token pair the client receives: persist it there."""

Lock = asyncio.Lock


async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def notify(callback: TokenCallback, tokens: TokenPair) -> None:
    result = callback(tokens)
    if inspect.isawaitable(result):
        await result
