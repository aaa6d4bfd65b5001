"""Storage interface of the product service.

Backends: ``store/sqlite``, ``store/postgres`` and ``store/mongo``. They raise
:class:`~shopkit_server.store.base.DuplicateKeyError` (``field="sku"``, ``"option_values"`` or
``"slug"``) when a unique value is taken (a sku is unique over products and variants), and
:class:`MissingCategory` when a product names a category that is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from shopkit_server.pagination import Key, PageResult
from shopkit_server.products.models import (
    BulkOutcome,
    BulkRow,
    Category,
    CategoryUsage,
    Product,
    ProductChanges,
    ProductQuery,
    ReserveOutcome,
    StockLine,
    Variant,
    VariantChanges,
)


class MissingCategory(Exception):
    """A write named a category that does not exist (deleted between check and write)."""


class ProductRepository(Protocol):
    """Products and their stock."""

    async def get(self, product_id: str) -> Product | None:
        """The product, active or not; None when missing (``product_id`` is well-formed)."""

    async def get_many(self, product_ids: Sequence[str]) -> list[Product]:
        """Every product of ``product_ids`` that exists, in one round trip."""

    async def find(
        self, query: ProductQuery, *, offset: int, limit: int, after: Key | None = None
    ) -> PageResult[Product]:
        """One page of the products matching ``query``, the exact total, and ``next_key``.

        Order: ``query.sort`` with a unique tie-break of the store's choosing (the same order
        for offsets and keys). ``next_key`` is the key of the page's last item when more
        items follow, as a tuple of JSON scalars the store can read back; with ``after`` (then
        ``offset`` is 0) the page starts right after the item with that key, by comparing keys
        (keyset pagination: items inserted or deleted meanwhile shift nothing). A key the store
        did not make raises ``errors.InvalidCursor`` (see ``pagination.check_key``). For
        ``ProductSort.RELEVANCE`` with search terms the key holds the store's rank.
        """

    async def count(self) -> int:
        """How many products the store holds, active or not."""

    async def create(self, product: Product) -> None:
        """Insert; DuplicateKeyError("sku") when the sku is taken."""

    async def update(
        self,
        product_id: str,
        changes: ProductChanges,
        updated_at: datetime,
    ) -> Product | None:
        """Apply ``changes`` in one write, the derived price/stock/image_url recomputed with
        it; the product after, or None when it does not exist. ``sku`` and ``stock`` are also
        the default variant's (a product without options; the service refuses ``stock`` on
        any other); ``image_url`` is derived from ``images`` and never among the changes."""

    async def add_variant(
        self, product_id: str, variant: Variant, updated_at: datetime
    ) -> Product | None:
        """Add a variant, the aggregates with it; DuplicateKeyError("sku") or
        ("option_values") when another variant holds them; None when the product is gone."""

    async def update_variant(
        self, product_id: str, variant_id: str, changes: VariantChanges, updated_at: datetime
    ) -> Product | None:
        """Change one variant and the aggregates; None when the product is gone."""

    async def upsert_many(self, rows: Sequence[BulkRow], now: datetime) -> BulkOutcome:
        """Create or update each row by sku (SQLite: one transaction; MongoDB: one bulk write)."""

    async def reserve(self, reservation_id: str, lines: Sequence[StockLine]) -> ReserveOutcome:
        """Take every line's quantity from stock, or none of them (see ReserveStatus)."""

    async def release(self, reservation_id: str) -> None:
        """Give back what the reservation took, exactly once; remember unknown ids as released."""


class CategoryRepository(Protocol):
    """Categories."""

    async def list_all(self) -> list[Category]:
        """Every category, ordered by sort_order then name (no children filled in)."""

    async def get(self, category_id: str) -> Category | None: ...

    async def get_by_slug(self, slug: str) -> Category | None: ...

    async def subtree_names(self, slug: str) -> list[str]:
        """Names of the category with this slug and of all its descendants ([] if unknown)."""

    async def create(self, category: Category) -> None:
        """Insert; DuplicateKeyError("slug") when the name (or its slug) is taken."""

    async def update(self, category: Category) -> None:
        """Store the new state; the products of a renamed category show the new name at once."""

    async def delete_if_unused(self, category_id: str) -> CategoryUsage:
        """Delete the category unless products or sub-categories use it; say what uses it."""
