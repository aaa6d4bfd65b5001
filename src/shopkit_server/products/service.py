"""Product service logic (no HTTP, no database driver).

Products are read by anyone (active ones), written by admins through the router, and their
stock is reserved and released by the order service through :meth:`ProductService.reserve_stock`
and :meth:`ProductService.release_stock`. Categories live in :mod:`.categories`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from shopkit_server.clock import utc_now
from shopkit_server.ids import is_valid_id, new_id
from shopkit_server.pagination import PageParams, PageResult
from shopkit_server.products.categories import CategoryCatalog, slugify
from shopkit_server.products.errors import (
    InsufficientStock,
    InvalidPriceRange,
    ProductNotFound,
    ReservationMismatch,
    ReservationPending,
    ReservationReleased,
    SkuTaken,
    UnknownCategory,
)
from shopkit_server.products.models import (
    BulkFailure,
    BulkReport,
    BulkRow,
    Product,
    ProductChanges,
    ProductDraft,
    ProductQuery,
    ReserveStatus,
    StockLine,
)
from shopkit_server.products.repository import (
    CategoryRepository,
    MissingCategory,
    ProductRepository,
)
from shopkit_server.products.version import CatalogVersion, changes_catalog, changes_products
from shopkit_server.store.base import DuplicateKeyError

MAX_SEARCH_TERMS = 16
_WORD = re.compile(r"\w+")


def search_terms(text: str) -> tuple[str, ...]:
    """The words of a search, lower-cased, without duplicates or any query syntax.

    Only letters, digits and underscores survive, so quotes, ``*``, ``NEAR(``, parentheses or
    ``-`` in user input can never reach a full-text engine as syntax. ``OR``/``AND``/``NOT``
    survive as plain words; the stores quote every term.
    """
    words = dict.fromkeys(_WORD.findall(text.casefold()))
    return tuple(word[:64] for word in words)[:MAX_SEARCH_TERMS]


def merge_lines(lines: Sequence[StockLine]) -> list[StockLine]:
    """One line per product (quantities added up), sorted by product id; quantities >= 1."""
    totals: dict[str, int] = {}
    for line in lines:
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int):
            raise ValueError(f"quantity of {line.product_id} must be an integer")
        if line.quantity < 1:
            raise ValueError(f"quantity of {line.product_id} must be at least 1")
        totals[line.product_id] = totals.get(line.product_id, 0) + line.quantity
    return [StockLine(product_id=pid, quantity=qty) for pid, qty in sorted(totals.items())]


class ProductService:
    def __init__(self, *, products: ProductRepository, categories: CategoryRepository) -> None:
        self.products = products
        self.version = CatalogVersion()
        self.categories = CategoryCatalog(categories, self.version)

    # -- reads -------------------------------------------------------------------------------

    async def get_product(self, product_id: str, *, include_inactive: bool = False) -> Product:
        """The product; ProductNotFound when missing, malformed, or inactive (unless asked)."""
        if not is_valid_id(product_id):
            raise ProductNotFound()
        product = await self.products.get(product_id)
        if product is None or (not product.is_active and not include_inactive):
            raise ProductNotFound()
        return product

    async def get_products(self, product_ids: Sequence[str]) -> dict[str, Product]:
        """The products of ``product_ids`` that exist, active or not (callers check), by id."""
        wanted = list(dict.fromkeys(pid for pid in product_ids if is_valid_id(pid)))
        if not wanted:
            return {}
        return {product.id: product for product in await self.products.get_many(wanted)}

    async def list_products(self, query: ProductQuery, page: PageParams) -> PageResult[Product]:
        """A page of products matching the filters of ``query``, in its sort order."""
        resolved = await self._resolve(query)
        if resolved is None:
            return PageResult(items=[], total=0)
        return await self.products.find(
            resolved, offset=page.offset, limit=page.page_size, after=page.after
        )

    async def search_products(
        self, text: str, query: ProductQuery, page: PageParams
    ) -> PageResult[Product]:
        """Full-text search over name, description and tags, with the listing's filters."""
        terms = search_terms(text)
        if not terms:  # nothing searchable in the text (only punctuation): nothing matches
            return PageResult(items=[], total=0)
        return await self.list_products(dataclasses.replace(query, search_terms=terms), page)

    async def has_products(self) -> bool:
        return await self.products.count() > 0

    async def _resolve(self, query: ProductQuery) -> ProductQuery | None:
        """Check the price range and expand the category; None when nothing can match."""
        if (
            query.min_price is not None
            and query.max_price is not None
            and query.min_price > query.max_price
        ):
            raise InvalidPriceRange()
        if query.category is None:
            return query
        names = await self.categories.subtree_names(query.category)
        if not names:  # an unknown category filters everything out (an empty page, not a 422)
            return None
        return dataclasses.replace(query, categories=tuple(names))

    # -- writes ------------------------------------------------------------------------------

    @changes_products(lambda *_, **__: ())  # a new id: no read of it was cached
    async def create_product(self, draft: ProductDraft) -> Product:
        category = await self.categories.canonical_name(draft.category)
        now = utc_now()
        product = Product(
            id=new_id(),
            sku=draft.sku,
            name=draft.name,
            description=draft.description,
            price=draft.price,
            category=category,
            tags=list(draft.tags),
            image_url=draft.image_url,
            stock=draft.stock,
            is_active=draft.is_active,
            is_featured=draft.is_featured,
            created_at=now,
            updated_at=now,
        )
        try:
            await self.products.create(product)
        except DuplicateKeyError:
            raise SkuTaken(f"Another product already has sku {draft.sku!r}.") from None
        except MissingCategory:
            raise UnknownCategory(f"Category {draft.category!r} does not exist.") from None
        return product

    @changes_products(lambda product_id, *_, **__: (product_id,))
    async def update_product(self, product_id: str, changes: ProductChanges) -> Product:
        """Partial update of any product, active or not (setting is_active revives it)."""
        if not is_valid_id(product_id):
            raise ProductNotFound()
        if not changes:
            return await self.get_product(product_id, include_inactive=True)
        changes = ProductChanges(**changes)
        if "category" in changes:
            changes["category"] = await self.categories.canonical_name(changes["category"])
        try:
            product = await self.products.update(product_id, changes, utc_now())
        except DuplicateKeyError:
            raise SkuTaken(f"Another product already has sku {changes.get('sku')!r}.") from None
        except MissingCategory:
            raise UnknownCategory() from None
        if product is None:
            raise ProductNotFound()
        return product

    @changes_products(lambda product_id, *_, **__: (product_id,))
    async def delete_product(self, product_id: str) -> None:
        """Soft delete (is_active=false); deleting an inactive product again is fine."""
        if not is_valid_id(product_id):
            raise ProductNotFound()
        product = await self.products.get(product_id)
        if product is None:
            raise ProductNotFound()
        if product.is_active:
            await self.products.update(product_id, ProductChanges(is_active=False), utc_now())

    @changes_catalog
    async def import_products(
        self, rows: Sequence[BulkRow], failed: Sequence[BulkFailure] = ()
    ) -> BulkReport:
        """Create or update rows by sku; a bad row is reported and does not stop the others.

        A row with a known sku updates that product (only the fields the row carries); a row
        with a new sku, or none, creates one. ``failed`` carries the rows the edge already
        refused, so the report covers them all.
        """
        failures = list(failed)
        names = await self.categories.names_by_slug()
        first_index: dict[str, int] = {}
        good: list[BulkRow] = []
        for row in rows:
            sku = row.draft.sku
            if sku is not None:
                if sku in first_index:
                    failures.append(
                        BulkFailure(
                            row.index, sku, f"sku repeats the row at index {first_index[sku]}."
                        )
                    )
                    continue
                first_index[sku] = row.index
            category = names.get(slugify(row.draft.category))
            if category is None:
                failures.append(
                    BulkFailure(row.index, sku, f"Category {row.draft.category!r} does not exist.")
                )
                continue
            draft = dataclasses.replace(row.draft, category=category)
            good.append(dataclasses.replace(row, draft=draft))
        created = updated = unchanged = 0
        if good:
            try:
                outcome = await self.products.upsert_many(good, utc_now())
            except MissingCategory:  # a category was deleted meanwhile: nothing was written
                raise UnknownCategory(
                    "A category of this import was deleted meanwhile; nothing was imported."
                ) from None
            created, updated = len(outcome.created), len(outcome.updated)
            unchanged = len(outcome.unchanged)
            failures.extend(outcome.failed)
        failures.sort(key=lambda failure: failure.index)
        return BulkReport(created=created, updated=updated, unchanged=unchanged, failed=failures)

    # -- stock (called by the order service) -------------------------------------------------

    @changes_products(lambda reservation_id, lines, *_, **__: [x.product_id for x in lines])
    async def reserve_stock(self, reservation_id: str, lines: Sequence[StockLine]) -> None:
        """Take every line from stock or none; idempotent per ``reservation_id``.

        Missing, malformed and inactive products count as out of stock: InsufficientStock
        names every product that fell short. Repeating a reservation that holds takes nothing
        twice; a released id is spent (ReservationReleased), so a late retry cannot oversell.
        """
        merged = merge_lines(lines)
        outcome = await self.products.reserve(reservation_id, merged)
        if outcome.status in (ReserveStatus.RESERVED, ReserveStatus.ALREADY_HELD):
            return
        if outcome.status is ReserveStatus.INSUFFICIENT:
            raise InsufficientStock(outcome.short)
        if outcome.status is ReserveStatus.RELEASED:
            raise ReservationReleased()
        if outcome.status is ReserveStatus.MISMATCH:
            raise ReservationMismatch()
        raise ReservationPending()

    @changes_catalog
    async def release_stock(self, reservation_id: str) -> None:
        """Give back what the reservation took, exactly once; an unknown id is a no-op.

        The id is remembered as released either way, so a reserve that arrives late (a retried
        call that raced its own cleanup) takes nothing.
        """
        await self.products.release(reservation_id)
