"""Product service logic (no HTTP, no database driver).

Products are read by anyone (active ones), written by admins through the router, and their
stock is reserved and released by the order service through :meth:`ProductService.reserve_stock`
and :meth:`ProductService.release_stock`. Categories live in :mod:`.categories`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from shopkit._catalog import slugify
from shopkit_server.clock import utc_now
from shopkit_server.ids import is_valid_id, new_id
from shopkit_server.pagination import PageParams, PageResult
from shopkit_server.products.categories import CategoryCatalog
from shopkit_server.products.errors import (
    DuplicateVariant,
    InsufficientStock,
    InvalidPriceRange,
    OptionValuesInvalid,
    ProductNotFound,
    ReservationMismatch,
    ReservationPending,
    ReservationReleased,
    SkuTaken,
    UnknownCategory,
    VariantNotFound,
    VariantRequired,
)
from shopkit_server.products.models import (
    BulkFailure,
    BulkReport,
    BulkRow,
    Product,
    ProductChanges,
    ProductDraft,
    ProductImage,
    ProductOption,
    ProductQuery,
    ReserveStatus,
    StockLine,
    Variant,
    VariantChanges,
    VariantDraft,
    VariantEdit,
    VariantPlan,
)
from shopkit_server.products.repository import (
    CategoryRepository,
    MissingCategory,
    ProductRepository,
)
from shopkit_server.products.variants import VariantRuleBroken
from shopkit_server.products.variants import check_variants as _check_variants
from shopkit_server.products.version import CatalogVersion, changes_catalog, changes_products
from shopkit_server.store.base import DuplicateKeyError

MAX_SEARCH_TERMS = 16
MAX_OPTION_FILTERS = 3
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
    """One line per variant (quantities added up), sorted by product then variant id (a
    line without ``variant_id``, the product's only variant, first); quantities >= 1."""
    totals: dict[tuple[str, str], int] = {}
    for line in lines:
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int):
            raise ValueError(f"quantity of {line.product_id} must be an integer")
        if line.quantity < 1:
            raise ValueError(f"quantity of {line.product_id} must be at least 1")
        key = (line.product_id, line.variant_id or "")
        totals[key] = totals.get(key, 0) + line.quantity
    return [
        StockLine(product_id=pid, quantity=qty, variant_id=vid or None)
        for (pid, vid), qty in sorted(totals.items())
    ]


def check_variants(
    options: Sequence[ProductOption], variants: Sequence[Variant | VariantDraft]
) -> None:
    """The variant rules (``products.variants``) as API errors: 422 or 409."""
    try:
        _check_variants(options, variants)
    except VariantRuleBroken as broken:
        if broken.duplicate:
            raise DuplicateVariant(str(broken)) from None
        raise OptionValuesInvalid(str(broken)) from None


def _ordered(options: Sequence[ProductOption], values: dict[str, str]) -> dict[str, str]:
    """``values`` in the order of the product's options (the stores key combinations so)."""
    return {option.name: values[option.name] for option in options if option.name in values}


def _changed(variant: Variant, changes: VariantChanges) -> Variant:
    """``variant`` with ``changes`` applied (their option_values already in options' order)."""
    return Variant(**{**dataclasses.asdict(variant), **changes})


def _planned(
    current: Product,
    options: Sequence[ProductOption] | None,
    entries: Sequence[VariantDraft | VariantEdit],
) -> VariantPlan:
    """What a product update's ``variants`` list (with the update's ``options``, if any) does
    to ``current``: listed ones changed or added, the others retired. The whole set after it
    passes :func:`check_variants`, the rule create and the variant endpoints use."""
    after_options = list(current.options if options is None else options)
    if not after_options:
        raise OptionValuesInvalid(
            "A product without options has one variant, made for it: leave variants out."
        )
    edits: dict[str, VariantChanges] = {}
    drafts: list[VariantDraft] = []
    for entry in entries:
        if isinstance(entry, VariantDraft):
            drafts.append(entry)
        elif not is_valid_id(entry.id) or current.variant(entry.id) is None:
            raise VariantNotFound(f"This product has no variant {entry.id!r}.")
        elif entry.id in edits:
            raise OptionValuesInvalid(f"Variant {entry.id!r} is listed twice.")
        else:
            changes = VariantChanges(**entry.changes)
            if "option_values" in changes:
                changes["option_values"] = _ordered(after_options, changes["option_values"])
            edits[entry.id] = changes
    for variant in current.variants:
        edits.setdefault(variant.id, VariantChanges(is_active=False))
    added = [
        dataclasses.replace(
            draft.new_variant(), option_values=_ordered(after_options, draft.option_values)
        )
        for draft in drafts
    ]
    after = [_changed(v, edits[v.id]) for v in current.variants]
    check_variants(after_options, [*after, *added])
    return VariantPlan(edits=edits, added=added)


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
        """A product with its variants (one default variant when it has no options)."""
        if draft.options:
            check_variants(draft.options, draft.variants)
        elif draft.variants:
            raise OptionValuesInvalid(
                "A product without options has one variant, made for it: leave variants out."
            )
        category = await self.categories.canonical_name(draft.category)
        variants = [
            dataclasses.replace(v, option_values=_ordered(draft.options, v.option_values))
            for v in draft.variants
        ]
        ready = dataclasses.replace(draft, category=category, variants=variants)
        product = ready.new_product(new_id(), utc_now())
        try:
            await self.products.create(product)
        except DuplicateKeyError as exc:
            raise self._duplicate(exc, draft.sku) from None
        except MissingCategory:
            raise UnknownCategory(f"Category {draft.category!r} does not exist.") from None
        return product

    @staticmethod
    def _duplicate(exc: DuplicateKeyError, sku: str | None) -> Exception:
        if exc.field == "option_values":
            return DuplicateVariant()
        if sku is None:
            return SkuTaken("Another product or variant already has this sku.")
        return SkuTaken(f"Another product or variant already has sku {sku!r}.")

    @changes_products(lambda product_id, *_, **__: (product_id,))
    async def update_product(
        self,
        product_id: str,
        changes: ProductChanges,
        variants: Sequence[VariantDraft | VariantEdit] | None = None,
    ) -> Product:
        """Partial update of any product, active or not (setting is_active revives it).

        ``sku`` and ``stock`` of a product without options are its default variant's; a
        product with options refuses ``stock`` (VariantRequired: set it per variant). New
        ``options`` must still fit every variant (OptionValuesInvalid). ``image_url`` sets
        the first image of the gallery (null removes it); ``images`` replaces the gallery.
        ``variants`` is the full list the product sells: a VariantEdit changes that variant
        (VariantNotFound when it is not the product's), a VariantDraft adds one, a variant
        not listed is retired; all of it in the same write as the other changes.
        """
        if not is_valid_id(product_id):
            raise ProductNotFound()
        if not changes and variants is None:
            return await self.get_product(product_id, include_inactive=True)
        changes = ProductChanges(**changes)
        current = await self.products.get(product_id)
        if current is None:
            raise ProductNotFound()
        if "category" in changes:
            changes["category"] = await self.categories.canonical_name(changes["category"])
        if "stock" in changes and current.options:
            raise VariantRequired(
                "A product with options keeps stock per variant; set it on a variant."
            )
        if variants is not None:
            changes["variants"] = _planned(current, changes.get("options"), variants)
        elif "options" in changes:
            check_variants(changes["options"], current.variants)
        if "images" not in changes and "image_url" in changes:
            url = changes["image_url"]
            rest = current.images[1:]
            changes["images"] = rest if url is None else [ProductImage(url), *rest]
        changes.pop("image_url", None)
        sku = changes.get("sku")
        try:
            product = await self.products.update(product_id, changes, utc_now())
        except DuplicateKeyError as exc:
            raise self._duplicate(exc, sku) from None
        except MissingCategory:
            raise UnknownCategory() from None
        if product is None:
            raise ProductNotFound()
        return product

    # -- variants ----------------------------------------------------------------------------

    async def _product_for_variants(self, product_id: str) -> Product:
        if not is_valid_id(product_id):
            raise ProductNotFound()
        product = await self.products.get(product_id)
        if product is None:
            raise ProductNotFound()
        return product

    @changes_products(lambda product_id, *_, **__: (product_id,))
    async def add_variant(self, product_id: str, draft: VariantDraft) -> Variant:
        """Add a variant to a product with options (any product, active or not)."""
        product = await self._product_for_variants(product_id)
        if not product.options:
            raise OptionValuesInvalid(
                "This product has no options; give it options before adding variants."
            )
        check_variants(product.options, [*product.variants, draft])
        variant = dataclasses.replace(
            draft.new_variant(), option_values=_ordered(product.options, draft.option_values)
        )
        try:
            updated = await self.products.add_variant(product_id, variant, utc_now())
        except DuplicateKeyError as exc:
            raise self._duplicate(exc, draft.sku) from None
        if updated is None:
            raise ProductNotFound()
        return variant

    @changes_products(lambda product_id, *_, **__: (product_id,))
    async def update_variant(
        self, product_id: str, variant_id: str, changes: VariantChanges
    ) -> Variant:
        """Change the fields sent of one variant (``is_active: false`` retires it)."""
        product = await self._product_for_variants(product_id)
        current = product.variant(variant_id) if is_valid_id(variant_id) else None
        if current is None:
            raise VariantNotFound()
        changes = VariantChanges(**changes)
        if "option_values" in changes:
            changes["option_values"] = _ordered(product.options, changes["option_values"])
        after = _changed(current, changes)
        others = [v for v in product.variants if v.id != variant_id]
        check_variants(product.options, [*others, after])
        if not changes:
            return current
        try:
            updated = await self.products.update_variant(product_id, variant_id, changes, utc_now())
        except DuplicateKeyError as exc:
            raise self._duplicate(exc, changes.get("sku")) from None
        found = updated.variant(variant_id) if updated is not None else None
        if found is None:
            raise VariantNotFound()
        return found

    async def retire_variant(self, product_id: str, variant_id: str) -> None:
        """Retire a variant (``is_active=false``): it stays on past orders, no cart takes it."""
        await self.update_variant(product_id, variant_id, VariantChanges(is_active=False))

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
        found: dict[str, str | None] = {}  # the name each category text given resolves to
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
            given = row.draft.category
            if given in found:
                category = found[given]
            else:
                category = found[given] = names.get(slugify(given))
            if category is None:
                failures.append(BulkFailure(row.index, sku, f"Category {given!r} does not exist."))
                continue
            if category != given:
                row = dataclasses.replace(
                    row, draft=dataclasses.replace(row.draft, category=category)
                )
            good.append(row)
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
