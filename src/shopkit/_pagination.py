"""Pages of a list endpoint, and lazy iteration over all of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

from pydantic import PrivateAttr

from shopkit.types._base import ShopkitModel

T = TypeVar("T")


# Where a page starts: a page number, or the ``next_cursor`` of the page before.
Position = int | str


class AsyncPage(ShopkitModel, Generic[T]):
    """One page: ``items``, the ``total``, whether another page follows, and ``next_cursor``
    (lists that page by cursor: where the next page starts).

    ``total`` is exact unless ``total_exact`` is False: a product listing or search matching
    more than 10,000 products stops counting there (``total`` is then that cap).
    """

    items: list[T]
    total: int
    total_exact: bool = True  # False: more than ``total`` match (a capped count)
    page: int | None = None  # None on a page fetched by cursor
    page_size: int
    has_next: bool
    next_cursor: str | None = None

    _fetch: Callable[[Position], Awaitable[AsyncPage[T]]] | None = PrivateAttr(default=None)

    def _next_position(self) -> Position | None:
        if not self.has_next:
            return None
        if self.next_cursor is not None:
            return self.next_cursor
        return self.page + 1 if self.page is not None else None

    async def next_page(self) -> AsyncPage[T] | None:
        """The following page with the same filters (by cursor when the list offers one), or
        ``None`` after the last one."""
        position = self._next_position()
        if position is None or self._fetch is None:
            return None
        return await self._fetch(position)


def walk_pages(fetch: Callable[[Position], Awaitable[AsyncPage[T]]]) -> AsyncIterator[T]:
    """Every item of every page, fetching a page only when the previous one is used up.

    Lists that offer ``next_cursor`` (products, search, orders) are walked by cursor: items
    created or deleted meanwhile shift nothing, so every item that stays in the list is seen
    exactly once. Other lists are walked by page number, where a write while walking can make
    the walk see an item twice or miss one.
    """

    async def items() -> AsyncIterator[T]:
        position: Position | None = 1
        while position is not None:
            page = await fetch(position)
            for item in page.items:
                yield item
            # An empty page ends the walk even if the server claims more: never loop forever.
            if not page.items:
                return
            position = page._next_position()

    return items()
