"""The catalog's version: a counter bumped after every write to products, stock or categories.

Read caches (see :mod:`shopkit_server.read_cache`) tag what they keep with the version they saw
before reading, and serve it only while the version is unchanged, so a write made through this
process is never followed by a stale read from it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar


class CatalogVersion:
    def __init__(self) -> None:
        self.value = 0

    def bump(self) -> None:
        self.value += 1


class _Versioned(Protocol):
    version: CatalogVersion


S = TypeVar("S", bound=_Versioned)
P = ParamSpec("P")
R = TypeVar("R")


def changes_catalog(
    method: Callable[Concatenate[S, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """Bump the version when ``method`` ends, even by an error (it may have written part)."""

    @functools.wraps(method)
    async def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(self, *args, **kwargs)
        finally:
            self.version.bump()

    return wrapper
