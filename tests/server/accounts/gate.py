"""A gate in front of a store method: proves concurrent requests reached the store together."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


class Gate:
    """Wraps ``owner.name``: every call waits until ``racers`` calls have arrived, then all go
    on to the real method. ``peak`` is how many were waiting at once (``racers`` = overlap)."""

    def __init__(self, owner: Any, name: str, racers: int) -> None:
        self._owner = owner
        self._name = name
        self._inner: Callable[..., Awaitable[Any]] = getattr(owner, name)
        self._racers = racers
        self._open = asyncio.Event()
        self.arrived = 0
        self.peak = 0

    async def _call(self, *args: Any, **kwargs: Any) -> Any:
        self.arrived += 1
        self.peak = max(self.peak, self.arrived)
        if self.arrived >= self._racers:
            self._open.set()
        await asyncio.wait_for(self._open.wait(), 10)
        return await self._inner(*args, **kwargs)

    def __enter__(self) -> Gate:
        setattr(self._owner, self._name, self._call)
        return self

    def __exit__(self, *exc: object) -> None:
        setattr(self._owner, self._name, self._inner)
