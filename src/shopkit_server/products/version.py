"""The catalog's version: a counter bumped after every write to products, stock or categories.

Read caches (see :mod:`shopkit_server.read_cache`) tag what they keep with the version they saw
before reading, and serve it only while the version is unchanged, so a write made through this
process is never followed by a stale read from it.

With replicas (``SHOPKIT_REDIS_URL``), :attr:`CatalogVersion.announce` publishes each write
before the write's caller gets its answer, and every other process bumps its own version on
receipt (see ``replicas/bus.py``): their caches drop what they kept too.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar


class CatalogVersion:
    def __init__(self) -> None:
        self.value = 0
        # Tells the other processes (set when replicas share a bus); never raises.
        self.announce: Callable[[], Coroutine[Any, Any, object]] | None = None

    def bump(self) -> None:
        """This process's caches drop what they kept (a write here, or heard of)."""
        self.value += 1

    async def changed(self) -> None:
        """A write through this process: bump, and tell the other processes."""
        self.bump()
        if self.announce is not None:
            # Shielded: a write whose caller went away (a cancelled request) still tells the
            # other processes; the publish gives up after the Redis timeout on its own.
            await asyncio.shield(self.announce())


class _Versioned(Protocol):
    version: CatalogVersion


S = TypeVar("S", bound=_Versioned)
P = ParamSpec("P")
R = TypeVar("R")


def changes_catalog(
    method: Callable[Concatenate[S, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """Bump (and announce) the version when ``method`` ends, even by an error (it may have
    written part)."""

    @functools.wraps(method)
    async def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(self, *args, **kwargs)
        finally:
            await self.version.changed()

    return wrapper
