"""Every page of a listing, with a progress bar on a terminal (``--all-pages``, export, seed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from shopkit_cli.output import Progress, progress

if TYPE_CHECKING:
    from shopkit import AsyncPage

T = TypeVar("T")
PAGE_SIZE = 100  # the API's largest page


async def every_page(fetch: Callable[[int], Awaitable[AsyncPage[T]]], bar: Progress) -> list[T]:
    """Fetch page 1, 2, ... until the last, advancing ``bar`` by each page's items (its
    total comes from the first page, unless that total is capped)."""
    items: list[T] = []
    number = 1
    while True:
        page = await fetch(number)
        if number == 1 and page.total_exact:  # a capped total is no length for the bar
            bar.set_total(page.total)
        items.extend(page.items)
        bar.advance(len(page.items))
        if not page.has_next or not page.items:
            return items
        number += 1


async def fetch_all(fetch: Callable[[int], Awaitable[AsyncPage[Any]]], what: str) -> list[Any]:
    """``every_page`` under its own progress bar, described as ``fetching <what>``."""
    with progress(f"fetching {what}") as bar:
        return await every_page(fetch, bar)
