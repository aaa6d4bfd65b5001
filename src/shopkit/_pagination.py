"""Pages of a list endpoint, and lazy iteration over all of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

from pydantic import PrivateAttr

from shopkit.types._base import ShopkitModel

T = TypeVar("T")


class AsyncPage(ShopkitModel, Generic[T]):
    """One page: ``items``, the exact ``total``, and whether another page follows."""

    items: list[T]
    total: int
    page: int
    page_size: int
    has_next: bool

    _fetch: Callable[[int], Awaitable[AsyncPage[T]]] | None = PrivateAttr(default=None)

    async def next_page(self) -> AsyncPage[T] | None:
        """The following page with the same filters, or ``None`` after the last one."""
        if not self.has_next or self._fetch is None:
            return None
        return await self._fetch(self.page + 1)


def walk_pages(fetch: Callable[[int], Awaitable[AsyncPage[T]]]) -> AsyncIterator[T]:
    """Every item of every page, fetching a page only when the previous one is used up.

    Page-number pagination: an item created or deleted while walking can shift the pages, so
    a walk over a changing list may see an item twice or miss one (the server orders every list
    stably, so a quiet list is walked exactly).
    """

    async def items() -> AsyncIterator[T]:
        page_no = 1
        while True:
            page = await fetch(page_no)
            for item in page.items:
                yield item
            # An empty page ends the walk even if the server claims more: never loop forever.
            if not page.has_next or not page.items:
                return
            page_no = page.page + 1

    return items()
