"""The catalog's version: a counter bumped after every write to products, stock or categories.

Read caches (see :mod:`shopkit_server.read_cache`) tag what they keep with the version they saw
before reading, and serve it only while the version is unchanged, so a write made through this
process is never followed by a stale read from it.

Two grains. :attr:`CatalogVersion.value` moves with every write: lists, searches and category
reads are tagged with it, so any write drops them all. A single product's read is tagged with
:meth:`CatalogVersion.of_product`, which moves only when *that* product changes (or on a write
that may touch every product: a category rename, a bulk import, a resync). So an order taking
stock of product X, or an edit of X, drops the cached ``GET /products/X`` and every list, and
the cached reads of every other product survive.

Both are the same monotonic counter: ``of_product(x)`` is the ``value`` of the last write that
touched ``x`` (or of the last catalog-wide one, whichever is later), so comparing versions of
one key still orders its fills.

With replicas (``SHOPKIT_REDIS_URL``), :attr:`CatalogVersion.announce` publishes each write
(with the products it touched) before the write's caller gets its answer, and every other
process bumps its own version on receipt (see ``replicas/wiring.py``): their caches drop what
they kept too.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Collection, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

# Products remembered one by one; beyond this many distinct ones since the last catalog-wide
# bump, the next bump is catalog-wide (memory stays bounded; only hit rates pay, briefly).
MAX_TRACKED_PRODUCTS = 100_000

# The products a write touched: None when it may have touched any (a catalog-wide change).
Touched = Collection[str] | None


class CatalogVersion:
    def __init__(self, *, max_tracked: int = MAX_TRACKED_PRODUCTS) -> None:
        self.value = 0
        self._floor = 0  # value of the last catalog-wide bump: no product is older than it
        self._products: dict[str, int] = {}  # product id -> value of its last change
        self._max_tracked = max_tracked
        # Tells the other processes (set when replicas share a bus); never raises.
        self.announce: Callable[[Touched], Coroutine[Any, Any, object]] | None = None

    def of_product(self, product_id: str) -> int:
        """The version a read of this one product is tagged with."""
        return self._products.get(product_id, self._floor)

    def bump(self, products: Touched = None) -> None:
        """This process's caches drop what they kept (a write here, or heard of): every list,
        and the single-product reads of ``products`` (of every product when None)."""
        self.value += 1
        if products is None or len(self._products) + len(products) > self._max_tracked:
            self._floor = self.value
            self._products.clear()
            return
        for product_id in products:
            self._products[product_id] = self.value

    async def changed(self, products: Touched = None) -> None:
        """A write through this process: bump, and tell the other processes."""
        self.bump(products)
        if self.announce is not None:
            # Shielded: a write whose caller went away (a cancelled request) still tells the
            # other processes; the publish gives up after the Redis timeout on its own.
            await asyncio.shield(self.announce(products))


class _Versioned(Protocol):
    version: CatalogVersion


S = TypeVar("S", bound=_Versioned)
P = ParamSpec("P")
R = TypeVar("R")


def changes_catalog(
    method: Callable[Concatenate[S, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """Bump (and announce) the version when ``method`` ends, even by an error (it may have
    written part): a catalog-wide change."""

    @functools.wraps(method)
    async def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(self, *args, **kwargs)
        finally:
            await self.version.changed()

    return wrapper


def changes_products(
    touched: Callable[..., Collection[str]],
) -> Callable[
    [Callable[Concatenate[S, P], Coroutine[Any, Any, R]]],
    Callable[Concatenate[S, P], Coroutine[Any, Any, R]],
]:
    """Like :func:`changes_catalog` for a write that changes only the products
    ``touched(*args, **kwargs)`` names (called with the method's own arguments)."""

    def decorate(
        method: Callable[Concatenate[S, P], Coroutine[Any, Any, R]],
    ) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
        @functools.wraps(method)
        async def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return await method(self, *args, **kwargs)
            finally:
                await self.version.changed(tuple(touched(*args, **kwargs)))

        return wrapper

    return decorate
