"""Domain records of the product service (shared with the services that call it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypedDict

from shopkit_server.ids import new_id


@dataclass(frozen=True)
class Product:
    id: str
    sku: str | None
    name: str
    description: str
    price: Decimal
    category: str  # the category's name (API.md); renaming a category renames it here too
    tags: list[str]
    image_url: str | None
    stock: int
    is_active: bool
    is_featured: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    slug: str
    parent_id: str | None
    sort_order: int
    children: list[Category] = field(default_factory=list)


@dataclass(frozen=True)
class StockLine:
    """A quantity of one product to take from (reserve) or give back to (release) stock."""

    product_id: str
    quantity: int


class ProductSort(StrEnum):
    NEWEST = "newest"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    NAME = "name"
    RELEVANCE = "relevance"  # search only: best match first


@dataclass(frozen=True)
class ProductQuery:
    """What a listing or a search asks the store for. Empty fields do not filter."""

    # The category as the client named it (name or slug, any case); the service expands it
    # into ``categories``: that category's name and its sub-categories'. The store reads only
    # ``categories``, where an empty tuple matches nothing.
    category: str | None = None
    categories: tuple[str, ...] | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    tags: tuple[str, ...] = ()  # every one must be on the product
    in_stock: bool | None = None  # True: stock > 0; False: stock == 0
    featured: bool | None = None
    include_inactive: bool = False
    # Normalised words of a full-text search (see service.search_terms); empty: no search.
    search_terms: tuple[str, ...] = ()
    sort: ProductSort = ProductSort.NEWEST


@dataclass(frozen=True)
class ProductDraft:
    """A new product as validated at the edge; ``category`` is already the canonical name."""

    name: str
    price: Decimal
    category: str
    sku: str | None = None
    description: str = ""
    tags: list[str] = field(default_factory=list)
    image_url: str | None = None
    stock: int = 0
    is_active: bool = True
    is_featured: bool = False


class ProductChanges(TypedDict, total=False):
    """A partial update: only the keys present change (``sku``/``image_url`` may be None)."""

    sku: str | None
    name: str
    description: str
    price: Decimal
    category: str
    tags: list[str]
    image_url: str | None
    stock: int
    is_active: bool
    is_featured: bool


# Fields of a product that a client may set, in the order the bulk import reads them.
PRODUCT_FIELDS: tuple[str, ...] = (
    "sku",
    "name",
    "description",
    "price",
    "category",
    "tags",
    "image_url",
    "stock",
    "is_active",
    "is_featured",
)


@dataclass(frozen=True)
class BulkRow:
    """One valid row of a bulk import (upserted by ``draft.sku``; created when it has none).

    ``fields`` names the fields the row actually carried: an update by sku changes only those,
    a create takes the defaults for the others.
    """

    index: int
    draft: ProductDraft
    fields: frozenset[str]

    def new_product(self, now: datetime) -> Product:
        """The product a row without a stored match creates (every store inserts this)."""
        draft = self.draft
        return Product(
            id=new_id(),
            sku=draft.sku,
            name=draft.name,
            description=draft.description,
            price=draft.price,
            category=draft.category,
            tags=list(draft.tags),
            image_url=draft.image_url,
            stock=draft.stock,
            is_active=draft.is_active,
            is_featured=draft.is_featured,
            created_at=now,
            updated_at=now,
        )


def bulk_row_changes(row: BulkRow, current: Product) -> bool:
    """Whether upserting ``row`` onto ``current`` would change any field the row carries.

    The one rule every store applies: a row equal to the stored product is reported as
    unchanged and not written (its ``updated_at`` stays), so re-importing a catalog costs a
    read, never a write.
    """
    for name in PRODUCT_FIELDS:
        if name == "sku" or name not in row.fields:
            continue
        new, old = getattr(row.draft, name), getattr(current, name)
        if name == "tags":
            new, old = list(new), list(old)
        if new != old:
            return True
    return False


@dataclass(frozen=True)
class BulkFailure:
    index: int
    sku: str | None
    detail: str


@dataclass(frozen=True)
class BulkOutcome:
    """What the store did with the valid rows (by their index in the request)."""

    created: list[int]
    updated: list[int]
    failed: list[BulkFailure]
    unchanged: list[int] = field(default_factory=list)  # equal to the stored product: not written


@dataclass(frozen=True)
class BulkReport:
    created: int
    updated: int
    failed: list[BulkFailure]
    unchanged: int = 0


class ReserveStatus(StrEnum):
    RESERVED = "reserved"  # taken now
    ALREADY_HELD = "already_held"  # the same reservation was taken before: nothing taken twice
    INSUFFICIENT = "insufficient"  # nothing taken; ``short`` names every product that fell short
    RELEASED = "released"  # the id was released (or released while reserving): nothing held
    MISMATCH = "mismatch"  # the id holds different lines
    PENDING = "pending"  # another call with this id is still reserving


@dataclass(frozen=True)
class ReserveOutcome:
    status: ReserveStatus
    short: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CategoryDraft:
    name: str
    parent_id: str | None = None
    sort_order: int = 0


class CategoryChanges(TypedDict, total=False):
    """A partial category update; ``parent_id: None`` makes the category a root."""

    name: str
    parent_id: str | None
    sort_order: int


@dataclass(frozen=True)
class CategoryUsage:
    """Why a category cannot be deleted: products (active or not) and sub-categories using it."""

    products: int
    children: int

    @property
    def in_use(self) -> bool:
        return self.products > 0 or self.children > 0
