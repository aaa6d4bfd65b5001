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
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from shopkit_server.fields import Flag, Text, blank_to_none, check_line
from shopkit_server.money import Money, Price
from shopkit_server.products.models import (
    BulkFailure,
    BulkRow,
    CategoryChanges,
    CategoryDraft,
    ProductChanges,
    ProductDraft,
    ProductSort,
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

    def to_draft(self) -> ProductDraft:
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
        return cast(ProductChanges, {name: getattr(self, name) for name in self.model_fields_set})


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    sku: str | None
    name: str
    description: str
    price: Money
    category: str
    tags: list[str]
    image_url: str | None
    stock: int
    is_active: bool
    is_featured: bool
    created_at: datetime
    updated_at: datetime


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


def parse_bulk_rows(raw_rows: Sequence[Any]) -> tuple[list[BulkRow], list[BulkFailure]]:
    """Validate every row alone: the good ones become BulkRows, the bad ones failures."""
    rows: list[BulkRow] = []
    failures: list[BulkFailure] = []
    for index, raw in enumerate(raw_rows):
        if not isinstance(raw, dict):
            failures.append(BulkFailure(index, None, "Each row must be a JSON object."))
            continue
        try:
            parsed = ProductCreate.model_validate(raw)
        except ValidationError as error:
            sku = raw.get("sku")
            failures.append(
                BulkFailure(index, sku.strip() if isinstance(sku, str) else None, _summary(error))
            )
            continue
        rows.append(
            BulkRow(index=index, draft=parsed.to_draft(), fields=frozenset(parsed.model_fields_set))
        )
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
