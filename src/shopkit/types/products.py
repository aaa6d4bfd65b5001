"""Products and categories (``/products``, ``/categories``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal, NotRequired, TypedDict

from pydantic import Field

from shopkit.types._base import Money, ShopkitModel

ProductSort = Literal["newest", "price_asc", "price_desc", "name"]
SearchSort = Literal["relevance", "newest", "price_asc", "price_desc", "name"]


class ProductOption(ShopkitModel):
    """An axis a product varies along: ``Size`` with its ordered values."""

    name: str
    values: list[str]


class ProductImage(ShopkitModel):
    url: str
    alt: str = ""


class Variant(ShopkitModel):
    """One buyable version of a product (its own sku, stock, optional price and image)."""

    id: str
    sku: str | None = None
    option_values: dict[str, str] = Field(default_factory=dict)
    price: Money | None = None
    """``None``: the product's ``base_price``."""
    stock: int
    is_active: bool = True
    image_url: str | None = None


class Product(ShopkitModel):
    id: str
    sku: str | None = None
    name: str
    description: str = ""
    price: Money
    category: str
    tags: list[str] = Field(default_factory=list)
    image_url: str | None = None
    stock: int
    is_active: bool
    is_featured: bool
    created_at: datetime
    updated_at: datetime
    in_stock: bool = False
    """Some active variant has stock."""
    base_price: Money | None = None
    """The price of a variant without its own (``price`` is the lowest active one, "from")."""
    options: list[ProductOption] = Field(default_factory=list)
    variants: list[Variant] = Field(default_factory=list)
    images: list[ProductImage] = Field(default_factory=list)

    def variant(self, **option_values: str) -> Variant | None:
        """The variant with these option values (``product.variant(Size="M", Colour="Blue")``),
        or the only variant of a product without options when none are given."""
        for candidate in self.variants:
            if candidate.option_values == option_values:
                return candidate
        return None


class OptionInput(TypedDict):
    name: str
    values: list[str]


class ImageInput(TypedDict):
    url: str
    alt: NotRequired[str]


class VariantInput(TypedDict):
    """A variant to create (with the product, or alone through ``products.variants``)."""

    option_values: dict[str, str]
    sku: NotRequired[str | None]
    price: NotRequired[Decimal | int | str | None]
    stock: NotRequired[int]
    is_active: NotRequired[bool]
    image_url: NotRequired[str | None]


class VariantPatchInput(TypedDict, total=False):
    """An entry of ``products.update(variants=[...])``: with ``id`` the fields given of that
    variant change; without it a new variant (then ``option_values`` is required)."""

    id: str
    option_values: dict[str, str]
    sku: str | None
    price: Decimal | int | str | None
    stock: int
    is_active: bool
    image_url: str | None


class ProductInput(TypedDict):
    """One row for :meth:`~shopkit.resources.products.AsyncProducts.bulk` (upserted by ``sku``)."""

    name: str
    price: Decimal | int | str
    category: str
    sku: NotRequired[str | None]
    description: NotRequired[str]
    tags: NotRequired[list[str]]
    image_url: NotRequired[str | None]
    stock: NotRequired[int]
    is_active: NotRequired[bool]
    is_featured: NotRequired[bool]
    options: NotRequired[list[OptionInput]]
    variants: NotRequired[list[VariantInput]]
    images: NotRequired[list[ImageInput]]


class BulkFailure(ShopkitModel):
    index: int
    """Position of the row in the list that was sent."""
    sku: str | None = None
    detail: str


class BulkResult(ShopkitModel):
    """The report of a bulk upsert: how many rows were created, updated or already equal
    (``unchanged``: not written), and which failed."""

    created: int
    updated: int
    unchanged: int = 0
    failed: list[BulkFailure] = Field(default_factory=list)


class Category(ShopkitModel):
    id: str
    name: str
    slug: str
    parent_id: str | None = None
    sort_order: int = 0
    children: list[Category] = Field(default_factory=list)
    """Filled only by ``categories.list(tree=True)``."""
