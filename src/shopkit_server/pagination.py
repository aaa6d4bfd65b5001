"""Pagination of every list endpoint: ``page``/``page_size`` or ``cursor`` in, ``Page[T]`` out.

Two ways through a list, in the same order:

- **Pages** (``?page=3``): an offset. Simple, but a write while a client scrolls shifts the
  pages, so an item can be seen twice or missed.
- **Cursors** (``?cursor=...``, from ``next_cursor`` of the page before): keyset pagination.
  The cursor carries the sort key of the last item seen, so the next page starts right after
  it whatever was inserted or deleted meanwhile: every item that stays in the list is seen once.

A cursor is opaque to clients: URL-safe base64 of ``[kind, sort, key]``, where ``key`` is the
store's own JSON tuple (see :class:`PageResult`). Anything that does not decode to what this
list and sort issued is a 400 ``invalid_cursor``, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from shopkit_server.errors import InvalidCursor, raises

raises_invalid_cursor = raises(InvalidCursor)

T = TypeVar("T")
MAX_PAGE_SIZE = 100
MAX_PAGE = 1_000_000  # the highest page number a listing takes
MAX_CURSOR_LENGTH = 1024

# Counting every match of a broad filter or search costs as much as reading them all: totals of
# the product lists are counted up to this many; beyond it a page says ``total_exact: false``
# and its ``total`` is this cap ("more than 10,000").
COUNT_CAP = 10_000


def count_limit() -> int:
    """How many rows a capped count reads: one past the cap says "more than the cap"."""
    return COUNT_CAP + 1


def capped_total(counted: int) -> tuple[int, bool]:
    """``(total, exact)`` of a count that stopped after :func:`count_limit` rows."""
    return (COUNT_CAP, False) if counted > COUNT_CAP else (counted, True)


# A position in a sorted list, as a store defines it: JSON scalars only (str, int, float), for
# example ``("2026-05-01T09:30:00.000000+00:00", 1042)`` = (created_at, row id of the last item).
Key = tuple[str | int | float, ...]


@dataclass(frozen=True)
class PageParams:
    page: int = 1
    page_size: int = 20
    # A decoded cursor: resume right after this key (then ``page`` is not used).
    after: Key | None = None

    @property
    def offset(self) -> int:
        return 0 if self.after is not None else (self.page - 1) * self.page_size


@dataclass(frozen=True)
class PageResult(Generic[T]):
    """What a store (and a service) returns for one page.

    ``items`` and the ``total`` of the whole list (not of what is left): exact, unless
    ``total_exact`` is False, when more than ``total`` (the count's cap) match. ``next_key``:
    the sort key of the last item when more items follow (the store sees one row past the
    page), else None. Stores that page with keys fill it in; a store without keys may leave it
    None and the list then simply offers no ``next_cursor``.
    """

    items: Sequence[T]
    total: int
    next_key: Key | None = None
    total_exact: bool = True


def check_key(key: Key, *types: type) -> Key:
    """For a store reading back a key: ``key`` has exactly these types, else InvalidCursor."""
    if len(key) != len(types) or not all(
        type(part) is kind or (kind is float and type(part) is int)
        for part, kind in zip(key, types, strict=True)
    ):
        raise InvalidCursor()
    return key


def encode_cursor(kind: str, sort: str, key: Key) -> str:
    raw = json.dumps([kind, sort, list(key)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, sort: str) -> Key:
    """The key inside a cursor this list issued for this sort; InvalidCursor otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor() from None
    if (
        not isinstance(value, list)
        or len(value) != 3
        or value[0] != kind
        or value[1] != sort
        or not isinstance(value[2], list)
        or not 1 <= len(value[2]) <= 4
        or not all(isinstance(part, str | int | float) for part in value[2])
        or any(isinstance(part, bool) for part in value[2])
    ):
        raise InvalidCursor()
    return tuple(value[2])


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(
        description="How many items the whole list has; when `total_exact` is false, at least "
        "this many (a count that stopped at its cap, 10,000 for products)"
    )
    total_exact: bool = Field(
        default=True, description="false when more than `total` items match (a capped count)"
    )
    page: int | None = Field(description="The page number; null when paging with a cursor")
    page_size: int
    has_next: bool
    next_cursor: str | None = Field(
        default=None,
        description="Pass as ?cursor= for the next page (stable while the list changes); "
        "null on the last page",
    )

    @classmethod
    def build(
        cls,
        items: Sequence[T],
        total: int,
        params: PageParams,
        *,
        next_cursor: str | None = None,
        total_exact: bool = True,
    ) -> Page[T]:
        content = PageContent.build(
            items, total, params, next_cursor=next_cursor, total_exact=total_exact
        )
        return cls.model_validate(content, from_attributes=True)

    @classmethod
    def of(cls, result: PageResult[T], params: PageParams, kind: str, sort: str) -> Page[T]:
        """A page of ``result``, with the cursor of the page after it when there is one."""
        return cls.model_validate(PageContent.of(result, params, kind, sort), from_attributes=True)


@dataclass(frozen=True)
class PageContent(Generic[T]):
    """What a :class:`Page` holds, as plain attributes: the rules of ``has_next``, ``page``
    and the cursor in one place, for a ``Page`` model and for a page written straight to JSON
    from its items' attributes (``attribute_dump``)."""

    items: Sequence[T]
    total: int
    total_exact: bool
    page: int | None
    page_size: int
    has_next: bool
    next_cursor: str | None

    @classmethod
    def build(
        cls,
        items: Sequence[T],
        total: int,
        params: PageParams,
        *,
        next_cursor: str | None = None,
        total_exact: bool = True,
    ) -> PageContent[T]:
        by_cursor = params.after is not None
        if by_cursor:
            has_next = next_cursor is not None
        else:
            # Past a capped total, only the store's look one row ahead (the cursor) knows.
            has_next = params.offset + len(items) < total or (
                not total_exact and next_cursor is not None
            )
        return cls(
            items=list(items),
            total=total,
            total_exact=total_exact,
            page=None if by_cursor else params.page,
            page_size=params.page_size,
            has_next=has_next,
            next_cursor=next_cursor,
        )

    @classmethod
    def of(cls, result: PageResult[T], params: PageParams, kind: str, sort: str) -> PageContent[T]:
        """The page of ``result``, with the cursor of the page after it when there is one."""
        cursor = encode_cursor(kind, sort, result.next_key) if result.next_key else None
        return cls.build(
            result.items,
            result.total,
            params,
            next_cursor=cursor,
            total_exact=result.total_exact,
        )


@dataclass(frozen=True)
class RawPage:
    """Page parameters as sent, before the list that uses them decodes the cursor."""

    page: int
    page_size: int
    cursor: str | None

    def resolve(self, kind: str, sort: str) -> PageParams:
        if self.cursor is None:
            return PageParams(page=self.page, page_size=self.page_size)
        return PageParams(
            page=1,
            page_size=self.page_size,
            after=decode_cursor(self.cursor, kind, sort),
        )


async def _page_params(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number")] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="items per page")] = 20,
) -> PageParams:
    return PageParams(page=page, page_size=page_size)


@raises_invalid_cursor
async def _cursor_page_params(
    page: Annotated[
        int, Query(ge=1, le=MAX_PAGE, description="1-based page number (ignored with a cursor)")
    ] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="items per page")] = 20,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_CURSOR_LENGTH,
            description="`next_cursor` of the previous page: keyset pagination, stable while "
            "the list changes",
        ),
    ] = None,
) -> RawPage:
    return RawPage(page=page, page_size=page_size, cursor=cursor)


PageQuery = Annotated[PageParams, Depends(_page_params)]
CursorPageQuery = Annotated[RawPage, Depends(_cursor_page_params)]
