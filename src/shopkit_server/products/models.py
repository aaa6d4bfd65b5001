"""Domain records of the product service (shared with the services that call it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypedDict

from shopkit_server.ids import new_id

MAX_OPTIONS = 3
MAX_OPTION_VALUES = 50
MAX_VARIANTS = 100
MAX_IMAGES = 20


@dataclass(frozen=True)
class ProductOption:
    """One axis a product varies along: ``Size`` with its ordered values ``S, M, L``."""

    name: str
    values: list[str]


@dataclass(frozen=True)
class ProductImage:
    url: str
    alt: str = ""


@dataclass(frozen=True)
class Variant:
    """One buyable version of a product: its own sku, stock and (optionally) price and image.

    ``option_values`` holds one value for each option of the product (``{}`` for the default
    variant of a product without options); ``price`` None means the product's ``base_price``.
    """

    id: str
    sku: str | None
    option_values: dict[str, str]
    stock: int
    is_active: bool = True
    price: Decimal | None = None
    image_url: str | None = None


def option_key(name: str, value: str) -> str:
    """The form an option filter matches on: ``Size``/``M`` -> ``size:m`` (case-folded)."""
    return f"{name.casefold()}:{value.casefold()}"


def option_keys(option_values: dict[str, str]) -> list[str]:
    return [option_key(name, value) for name, value in option_values.items()]


@dataclass(frozen=True)
class Product:
    """A product; ``price``, ``stock`` and ``image_url`` are derived (see :func:`aggregate`).

    ``price`` is the lowest price of an active variant ("from"), ``stock`` the sum over active
    variants, ``image_url`` the first image of the gallery; ``base_price`` is the price of a
    variant that has none of its own. Stores keep the three on the product row, written in the
    same transaction as every variant or stock change, so filters and sorts stay plain columns.
    """

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
    base_price: Decimal | None = None  # None: equal to ``price`` (a row read without it)
    options: list[ProductOption] = field(default_factory=list)
    variants: list[Variant] = field(default_factory=list)
    images: list[ProductImage] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.base_price is None:  # a product built without one: its price is its own
            object.__setattr__(self, "base_price", self.price)

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def own_price(self) -> Decimal:
        return self.price if self.base_price is None else self.base_price

    def variant(self, variant_id: str) -> Variant | None:
        return next((v for v in self.variants if v.id == variant_id), None)

    @property
    def default_variant(self) -> Variant | None:
        """The only variant of a single-variant product; None when it has several."""
        return self.variants[0] if len(self.variants) == 1 else None

    def price_of(self, variant: Variant) -> Decimal:
        return variant.price if variant.price is not None else self.own_price

    def image_of(self, variant: Variant) -> str | None:
        return variant.image_url or self.image_url


def aggregate(
    base_price: Decimal, variants: list[Variant], images: list[ProductImage]
) -> tuple[Decimal, int, str | None]:
    """``(price, stock, image_url)`` of a product from its variants and gallery: the lowest
    price of an active variant (``base_price`` when none is active), the sum of their stock."""
    lowest: Decimal | None = None
    stock = 0
    for v in variants:  # one pass (a bulk import computes this for every row)
        if v.is_active:
            price = v.price if v.price is not None else base_price
            if lowest is None or price < lowest:
                lowest = price
            stock += v.stock
    return (
        base_price if lowest is None else lowest,
        stock,
        images[0].url if images else None,
    )


def option_words(variants: list[Variant]) -> str:
    """The option values of the active variants, as the words a search finds them by."""
    words = dict.fromkeys(
        value for v in variants if v.is_active for value in v.option_values.values()
    )
    return " ".join(words)


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
    """A quantity of one variant to take from (reserve) or give back to (release) stock.

    ``variant_id`` None means the product's only variant (a line written before variants).
    """

    product_id: str
    quantity: int
    variant_id: str | None = None


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
    # ``option_key`` strings; a product matches when one active variant in stock has them all.
    options: tuple[str, ...] = ()
    featured: bool | None = None
    include_inactive: bool = False
    # Normalised words of a full-text search (see service.search_terms); empty: no search.
    search_terms: tuple[str, ...] = ()
    sort: ProductSort = ProductSort.NEWEST


@dataclass(frozen=True)
class VariantDraft:
    """A variant as sent by a client (a new one, or the fields of a change)."""

    option_values: dict[str, str]
    sku: str | None = None
    stock: int = 0
    is_active: bool = True
    price: Decimal | None = None
    image_url: str | None = None

    def new_variant(self) -> Variant:
        return Variant(
            id=new_id(),
            sku=self.sku,
            option_values=dict(self.option_values),
            stock=self.stock,
            is_active=self.is_active,
            price=self.price,
            image_url=self.image_url,
        )


class VariantChanges(TypedDict, total=False):
    sku: str | None
    option_values: dict[str, str]
    stock: int
    is_active: bool
    price: Decimal | None
    image_url: str | None


@dataclass(frozen=True)
class VariantEdit:
    """An entry of a product update's ``variants`` naming an existing variant: its changes."""

    id: str
    changes: VariantChanges


@dataclass(frozen=True)
class VariantPlan:
    """What a product update does to its variants: ``edits`` by variant id (a retirement is
    ``{"is_active": False}``), then ``added`` new ones. Stores apply it in the same write."""

    edits: dict[str, VariantChanges]
    added: list[Variant]


@dataclass(frozen=True)
class ProductDraft:
    """A new product as validated at the edge; ``category`` is already the canonical name.

    Without ``options`` the product gets one default variant (``sku`` and ``stock``); with
    options, ``variants`` lists its variants and ``stock`` is theirs.
    """

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
    options: list[ProductOption] = field(default_factory=list)
    variants: list[VariantDraft] = field(default_factory=list)
    images: list[ProductImage] = field(default_factory=list)

    def gallery(self) -> list[ProductImage]:
        if self.images:
            return list(self.images)
        return [ProductImage(self.image_url)] if self.image_url else []

    def new_variants(self) -> list[Variant]:
        if self.options:
            return [draft.new_variant() for draft in self.variants]
        return [Variant(id=new_id(), sku=self.sku, option_values={}, stock=self.stock)]

    def new_product(self, product_id: str, now: datetime) -> Product:
        variants = self.new_variants()
        images = self.gallery()
        price, stock, image_url = aggregate(self.price, variants, images)
        return Product(
            id=product_id,
            sku=self.sku,
            name=self.name,
            description=self.description,
            price=price,
            category=self.category,
            tags=list(self.tags),
            image_url=image_url,
            stock=stock,
            is_active=self.is_active,
            is_featured=self.is_featured,
            created_at=now,
            updated_at=now,
            base_price=self.price,
            options=list(self.options),
            variants=variants,
            images=images,
        )


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
    options: list[ProductOption]
    images: list[ProductImage]
    variants: VariantPlan  # built by the service from the update's variants list


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
    "options",
    "variants",
    "images",
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
        return self.draft.new_product(new_id(), now)


def _variant_state(variant: Variant | VariantDraft) -> tuple[object, ...]:
    return (
        variant.option_values,
        variant.stock,
        variant.is_active,
        variant.price,
        variant.image_url,
    )


def bulk_row_changes(row: BulkRow, current: Product) -> bool:
    """Whether upserting ``row`` onto ``current`` would change any field the row carries.

    The one rule every store applies: a row equal to the stored product is reported as
    unchanged and not written (its ``updated_at`` stays), so re-importing a catalog costs a
    read, never a write. Variants compare by sku (a row's variant whose sku is new changes it).
    """
    for name in PRODUCT_FIELDS:
        if name == "sku" or name not in row.fields:
            continue
        if name == "variants":
            stored = {variant.sku: variant for variant in current.variants}
            for draft in row.draft.variants:
                found = stored.get(draft.sku)
                if found is None or _variant_state(found) != _variant_state(draft):
                    return True
            continue
        new: object = getattr(row.draft, name)
        old: object = current.own_price if name == "price" else getattr(current, name)
        if name == "tags":
            new, old = list(row.draft.tags), list(current.tags)
        if new != old:
            return True
    return False


def bulk_variants(row: BulkRow, current: Product) -> list[Variant]:
    """The variants ``current`` has after upserting ``row``: its variants matched by sku are
    updated, new skus added, the others kept (an import never deletes a variant)."""
    if not current.options and "stock" in row.fields and current.default_variant is not None:
        default = current.default_variant
        return [dataclasses.replace(default, stock=row.draft.stock)]
    if "variants" not in row.fields:
        return list(current.variants)
    drafts = {draft.sku: draft for draft in row.draft.variants}
    merged: list[Variant] = []
    # A product without options given options by the import: its default variant goes,
    # unless a row variant carries its sku.
    keep = [
        v for v in current.variants if current.options or not row.draft.options or v.sku in drafts
    ]
    for variant in keep:
        draft = drafts.pop(variant.sku, None) if variant.sku is not None else None
        if draft is None:
            merged.append(variant)
            continue
        merged.append(
            dataclasses.replace(
                variant,
                option_values=dict(draft.option_values),
                stock=draft.stock,
                is_active=draft.is_active,
                price=draft.price,
                image_url=draft.image_url,
            )
        )
    merged.extend(draft.new_variant() for draft in drafts.values())
    return merged


def bulk_images(row: BulkRow, current: Product) -> list[ProductImage]:
    """The gallery after the row: ``images`` replaces it, ``image_url`` its first image."""
    if "images" in row.fields:
        return list(row.draft.images)
    if "image_url" in row.fields:
        rest = current.images[1:]
        url = row.draft.image_url
        return rest if url is None else [ProductImage(url), *rest]
    return list(current.images)


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
