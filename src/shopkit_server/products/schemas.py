"""Request and response models of the product service (validation at the edge).

Strings are trimmed and hold no control characters (``shopkit_server.fields``); unknown fields
are refused (a client cannot set ``id``, ``created_at`` ...); ``stock`` and the flags are strict
(``"5"`` or ``1`` for ``true`` are refused); tags are lower-cased, trimmed and de-duplicated, so
``Audio`` and ``audio `` are one tag. An optional ``sku``, ``image_url`` or ``parent_id`` sent
empty (``""`` or blanks, as forms do) is ``null``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self, cast
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from shopkit_server.errors import ShopError
from shopkit_server.fields import Flag, Text, blank_to_none, check_line
from shopkit_server.money import Money, Price
from shopkit_server.products.errors import VariantRequired
from shopkit_server.products.models import (
    MAX_IMAGES,
    MAX_OPTION_VALUES,
    MAX_OPTIONS,
    MAX_VARIANTS,
    BulkFailure,
    BulkRow,
    CategoryChanges,
    CategoryDraft,
    ProductChanges,
    ProductDraft,
    ProductImage,
    ProductOption,
    ProductSort,
    VariantChanges,
    VariantDraft,
    VariantEdit,
)

MAX_TAGS = 20
MAX_TAG_LENGTH = 40
MAX_BULK_ROWS = 500


def normalize_tag(tag: str) -> str:
    return " ".join(tag.split()).casefold()


def _check_tags(tags: list[str]) -> list[str]:
    clean: list[str] = []
    for raw in tags:
        # Before normalising: split() would quietly turn a tab or a newline into a space.
        tag = normalize_tag(check_line(raw.strip()))
        if not tag:
            raise ValueError("tags cannot be empty")
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError(f"a tag has at most {MAX_TAG_LENGTH} characters")
        if "," in tag:
            raise ValueError("tags cannot contain commas")
        if tag not in clean:
            clean.append(tag)
    return clean


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise ValueError("must be an http(s) URL")
    return url


Name = Annotated[str, Text(200)]
Description = Annotated[str, Text(10_000, min_length=0, multiline=True)]
Sku = Annotated[str, Text(64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
# Optional on the wire: "" and blanks are null, like an absent sku.
OptionalSku = Annotated[Sku | None, BeforeValidator(blank_to_none)]
CategoryName = Annotated[str, Text(100)]
Tags = Annotated[list[str], Field(max_length=MAX_TAGS), AfterValidator(_check_tags)]
ImageUrl = Annotated[str, Text(2048), AfterValidator(_check_url)]
OptionalImageUrl = Annotated[ImageUrl | None, BeforeValidator(blank_to_none)]
ParentId = Annotated[str | None, Text(64, optional=True)]
Stock = Annotated[int, Field(strict=True, ge=0, le=1_000_000_000)]
SortOrder = Annotated[int, Field(strict=True, ge=-1_000_000, le=1_000_000)]


def _check_option_text(value: str) -> str:
    # ":" splits an option filter (``option=Size:M``); "|" separates stored option keys.
    if ":" in value or "|" in value:
        raise ValueError("must not contain ':' or '|'")
    return value


OptionName = Annotated[str, Text(40), AfterValidator(_check_option_text)]
OptionValue = Annotated[str, Text(60), AfterValidator(_check_option_text)]
Alt = Annotated[str, Text(300, min_length=0)]


def _unique_values(values: list[str]) -> list[str]:
    folded = [value.casefold() for value in values]
    if len(set(folded)) != len(folded):
        raise ValueError("option values must be unique (regardless of case)")
    return values


class OptionIn(BaseModel):
    """An option and its ordered values: ``{"name": "Size", "values": ["S", "M", "L"]}``."""

    model_config = ConfigDict(extra="forbid")

    name: OptionName
    values: Annotated[
        list[OptionValue],
        Field(min_length=1, max_length=MAX_OPTION_VALUES),
        AfterValidator(_unique_values),
    ]


class ImageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: ImageUrl
    alt: Alt = ""


def _unique_names(options: list[OptionIn]) -> list[OptionIn]:
    folded = [option.name.casefold() for option in options]
    if len(set(folded)) != len(folded):
        raise ValueError("option names must be unique (regardless of case)")
    return options


Options = Annotated[list[OptionIn], Field(max_length=MAX_OPTIONS), AfterValidator(_unique_names)]
Images = Annotated[list[ImageIn], Field(max_length=MAX_IMAGES)]
OptionValues = Annotated[dict[OptionName, OptionValue], Field(max_length=MAX_OPTIONS)]


def _options(options: list[OptionIn]) -> list[ProductOption]:
    return [ProductOption(name=option.name, values=list(option.values)) for option in options]


def _images(images: list[ImageIn]) -> list[ProductImage]:
    return [ProductImage(url=image.url, alt=image.alt) for image in images]


class VariantCreate(BaseModel):
    """A variant: one value of each option of its product; ``price`` null: the product's."""

    model_config = ConfigDict(extra="forbid")

    sku: OptionalSku = None
    option_values: OptionValues = Field(default_factory=dict)
    price: Price | None = None
    stock: Stock = 0
    is_active: Flag = True
    image_url: OptionalImageUrl = None

    def to_draft(self) -> VariantDraft:
        return VariantDraft(
            option_values=dict(self.option_values),
            sku=self.sku,
            stock=self.stock,
            is_active=self.is_active,
            price=self.price,
            image_url=self.image_url,
        )


class VariantUpdate(BaseModel):
    """A partial variant update; ``sku``, ``price`` and ``image_url`` take null."""

    model_config = ConfigDict(extra="forbid")

    sku: OptionalSku = None
    option_values: OptionValues | None = None
    price: Price | None = None
    stock: Stock | None = None
    is_active: Flag | None = None
    image_url: OptionalImageUrl = None

    @model_validator(mode="after")
    def _no_null(self) -> Self:
        nulls = [
            name
            for name in ("option_values", "stock", "is_active")
            if name in self.model_fields_set and getattr(self, name) is None
        ]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self

    def to_changes(self) -> VariantChanges:
        return cast(VariantChanges, {name: getattr(self, name) for name in self.model_fields_set})


class VariantEntry(VariantUpdate):
    """An entry of ``PATCH /products/{id}`` ``variants``: with ``id`` the fields sent of that
    variant change (as in PATCH .../variants/{id}); without it a new variant (as in POST)."""

    id: str | None = None

    def to_entry(self) -> VariantDraft | VariantEdit:
        fields = {name: getattr(self, name) for name in self.model_fields_set if name != "id"}
        if self.id is not None:
            return VariantEdit(id=self.id, changes=cast(VariantChanges, fields))
        return VariantCreate(**fields).to_draft()


class VariantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    sku: str | None
    option_values: dict[str, str]
    price: Money | None  # null: the product's base_price
    stock: int
    is_active: bool
    image_url: str | None


class OptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    values: list[str]


class ImageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    url: str
    alt: str


class ListSort(StrEnum):
    NEWEST = "newest"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    NAME = "name"


class SearchSort(StrEnum):
    RELEVANCE = "relevance"
    NEWEST = "newest"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    NAME = "name"


def to_domain_sort(sort: ListSort | SearchSort) -> ProductSort:
    return ProductSort(sort.value)


class ProductCreate(BaseModel):
    """A new product (admins). ``category`` names an existing category (name or slug)."""

    model_config = ConfigDict(extra="forbid")

    sku: OptionalSku = None
    name: Name
    description: Description = ""
    price: Price
    category: CategoryName
    tags: Tags = Field(default_factory=list)
    image_url: OptionalImageUrl = None
    stock: Stock = 0
    is_active: Flag = True
    is_featured: Flag = False
    options: Options = Field(default_factory=list)
    variants: Annotated[list[VariantCreate], Field(max_length=MAX_VARIANTS)] = Field(
        default_factory=list
    )
    images: Images = Field(default_factory=list)

    def to_draft(self) -> ProductDraft:
        """The draft; VariantRequired when a product with options is given a product stock."""
        if self.options and "stock" in self.model_fields_set:
            raise VariantRequired(
                "A product with options keeps stock per variant; set stock on each variant."
            )
        return ProductDraft(
            sku=self.sku,
            name=self.name,
            description=self.description,
            price=self.price,
            category=self.category,
            tags=list(self.tags),
            image_url=self.image_url,
            stock=self.stock,
            is_active=self.is_active,
            is_featured=self.is_featured,
            options=_options(self.options),
            variants=[variant.to_draft() for variant in self.variants],
            images=_images(self.images),
        )


_NOT_NULL = (
    "name",
    "description",
    "price",
    "category",
    "tags",
    "stock",
    "is_active",
    "is_featured",
    "options",
    "images",
    "variants",
)


class ProductUpdate(BaseModel):
    """A partial update (admins): only the fields sent change; ``sku``/``image_url`` take null."""

    model_config = ConfigDict(extra="forbid")

    sku: OptionalSku = None
    name: Name | None = None
    description: Description | None = None
    price: Price | None = None
    category: CategoryName | None = None
    tags: Tags | None = None
    image_url: OptionalImageUrl = None
    stock: Stock | None = None
    is_active: Flag | None = None
    is_featured: Flag | None = None
    options: Options | None = None
    images: Images | None = None
    variants: Annotated[list[VariantEntry], Field(min_length=1, max_length=MAX_VARIANTS)] | None = (
        Field(
            default=None,
            description="The full list the product sells: an entry with id changes that variant, "
            "one without adds a variant, a variant not listed is retired (is_active=false).",
        )
    )

    @model_validator(mode="after")
    def _no_null(self) -> Self:
        nulls = [
            name
            for name in _NOT_NULL
            if name in self.model_fields_set and getattr(self, name) is None
        ]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self

    def to_changes(self) -> ProductChanges:
        changes: dict[str, Any] = {
            name: getattr(self, name) for name in self.model_fields_set if name != "variants"
        }
        if self.options is not None:
            changes["options"] = _options(self.options)
        if self.images is not None:
            changes["images"] = _images(self.images)
        return cast(ProductChanges, changes)

    def variant_entries(self) -> list[VariantDraft | VariantEdit] | None:
        """The ``variants`` sent, None when left out."""
        if self.variants is None:
            return None
        return [entry.to_entry() for entry in self.variants]


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    sku: str | None
    name: str
    description: str
    price: Money  # the lowest price of an active variant ("from")
    category: str
    tags: list[str]
    image_url: str | None = Field(description="The first image of the gallery")
    stock: int = Field(description="Units in stock over the active variants")
    in_stock: bool
    is_active: bool
    is_featured: bool
    created_at: datetime
    updated_at: datetime
    # The price of a variant without its own.
    base_price: Money = Field(validation_alias=AliasChoices("own_price", "base_price"))
    options: list[OptionOut]
    variants: list[VariantOut]
    images: list[ImageOut]


class BulkFailureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    index: int = Field(description="Position of the row in the request")
    sku: str | None
    detail: str


class BulkReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    created: int
    updated: int
    unchanged: int  # rows equal to the stored product: not written, updated_at untouched
    failed: list[BulkFailureOut]


def _summary(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"])
        parts.append(f"{where}: {item['msg']}" if where else item["msg"])
    return "; ".join(parts)


_BULK_ROWS: TypeAdapter[list[ProductCreate]] = TypeAdapter(list[ProductCreate])


def parse_bulk_rows(raw_rows: Sequence[Any]) -> tuple[list[BulkRow], list[BulkFailure]]:
    """Validate every row alone: the good ones become BulkRows, the bad ones failures.

    A batch of objects is first validated in one call (one pass through pydantic instead of
    one per row); when any row of it is refused, each row is validated alone, as below, so
    the failures are the same."""
    parsed: list[ProductCreate] | None = None
    if all(isinstance(raw, dict) for raw in raw_rows):
        try:
            parsed = _BULK_ROWS.validate_python(raw_rows)
        except ValidationError:
            parsed = None
    rows: list[BulkRow] = []
    failures: list[BulkFailure] = []
    for index, raw in enumerate(raw_rows):
        if not isinstance(raw, dict):
            failures.append(BulkFailure(index, None, "Each row must be a JSON object."))
            continue
        try:
            product = ProductCreate.model_validate(raw) if parsed is None else parsed[index]
            draft = product.to_draft()
        except (ValidationError, ShopError) as error:
            sku = raw.get("sku")
            detail = _summary(error) if isinstance(error, ValidationError) else error.detail
            failures.append(
                BulkFailure(index, sku.strip() if isinstance(sku, str) else None, detail)
            )
            continue
        rows.append(BulkRow(index=index, draft=draft, fields=frozenset(product.model_fields_set)))
    return rows, failures


class CategoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CategoryName
    parent_id: ParentId = None
    sort_order: SortOrder = 0

    def to_draft(self) -> CategoryDraft:
        return CategoryDraft(name=self.name, parent_id=self.parent_id, sort_order=self.sort_order)


class CategoryUpdate(BaseModel):
    """Rename, move (``parent_id: null`` makes it a root) or reorder a category."""

    model_config = ConfigDict(extra="forbid")

    name: CategoryName | None = None
    parent_id: ParentId = None
    sort_order: SortOrder | None = None

    @model_validator(mode="after")
    def _no_null(self) -> Self:
        nulls = [
            name
            for name in ("name", "sort_order")
            if name in self.model_fields_set and getattr(self, name) is None
        ]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self

    def to_changes(self) -> CategoryChanges:
        return cast(CategoryChanges, {name: getattr(self, name) for name in self.model_fields_set})


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    slug: str
    parent_id: str | None
    sort_order: int


class CategoryNode(CategoryOut):
    """A category with its sub-categories (``GET /categories?tree=true``)."""

    children: list[CategoryNode] = Field(default_factory=list)
