"""HTTP routes of the product service: ``/products`` and ``/categories`` (HTTP only).

Reads are public and see active products only. ``include_inactive=true`` is for admins: it
answers 401 without a token and 403 for a customer, rather than silently showing less.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Body, Depends, Query, Request, Response, status
from pydantic import TypeAdapter, ValidationError

from shopkit_server.attribute_dump import AttributeDump
from shopkit_server.deps import AdminUser, Context, OptionalUser, get_context
from shopkit_server.errors import NotAuthenticated, Unprocessable, raises
from shopkit_server.fields import QueryFlag
from shopkit_server.money import PriceBound
from shopkit_server.pagination import (
    MAX_CURSOR_LENGTH,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    CursorPageQuery,
    Page,
    PageContent,
    PageParams,
    PageResult,
    RawPage,
)
from shopkit_server.products.errors import (
    CategoryCycle,
    CategoryExists,
    CategoryInUse,
    CategoryNotFound,
    DuplicateVariant,
    InactiveNeedsAdmin,
    InvalidCategoryName,
    InvalidPriceRange,
    OptionValuesInvalid,
    ProductNotFound,
    SkuTaken,
    TooManyTags,
    UnknownCategory,
    UnknownParent,
    VariantNotFound,
    VariantRequired,
)
from shopkit_server.products.models import Product, ProductQuery, Variant, option_key
from shopkit_server.products.schemas import (
    MAX_BULK_ROWS,
    BulkReportOut,
    CategoryCreate,
    CategoryNode,
    CategoryOut,
    CategoryUpdate,
    ListSort,
    ProductCreate,
    ProductOut,
    ProductUpdate,
    SearchSort,
    VariantCreate,
    VariantOut,
    VariantUpdate,
    normalize_tag,
    parse_bulk_rows,
    to_domain_sort,
)
from shopkit_server.products.service import MAX_OPTION_FILTERS
from shopkit_server.routing import FALL_BACK, FallBack, ShopRouter, plain_read

MAX_TAG_FILTERS = 10
MAX_CATEGORY_FILTER = 100  # characters of ?category=

# The collection's routes, then one product's: a request for one product is not tried
# against the collection's routes twice over (FastAPI walks a router's routes to pick it and
# again to pick the route).
_products = ShopRouter(prefix="/products", tags=["products"])
_one_product = ShopRouter(prefix="/products", tags=["products"])
_categories = ShopRouter(prefix="/categories", tags=["categories"])

ProductPage = Page[ProductOut]
_page_json = AttributeDump(ProductPage)
_flat = TypeAdapter(list[CategoryOut])
_tree = TypeAdapter(list[CategoryNode])


def _admin_for_inactive(include_inactive: bool, user: OptionalUser) -> bool:
    if include_inactive:
        if user is None:
            raise NotAuthenticated("include_inactive=true needs an admin token.")
        if not user.is_admin:
            raise InactiveNeedsAdmin()
    return include_inactive


class BadOptionFilter(Unprocessable):
    loc = ("query", "option")


@raises(NotAuthenticated, InactiveNeedsAdmin, TooManyTags, InvalidPriceRange, BadOptionFilter)
async def _filters(
    user: OptionalUser,
    category: Annotated[
        str | None,
        Query(
            max_length=MAX_CATEGORY_FILTER,
            description="A category name or slug; includes sub-categories",
        ),
    ] = None,
    min_price: Annotated[PriceBound | None, Query(description="Lowest price, inclusive")] = None,
    max_price: Annotated[PriceBound | None, Query(description="Highest price, inclusive")] = None,
    tags: Annotated[
        list[str] | None,
        Query(description="Repeatable or comma-separated; every tag must be on the product"),
    ] = None,
    in_stock: Annotated[
        QueryFlag | None, Query(description="true: stock > 0; false: out of stock only")
    ] = None,
    featured: QueryFlag | None = None,
    include_inactive: Annotated[
        QueryFlag, Query(description="Admins only: include soft-deleted products")
    ] = False,
    option: Annotated[
        list[str] | None,
        Query(
            description="Name:Value, repeatable (e.g. Size:M); an active variant in stock "
            "must have every one (any case)"
        ),
    ] = None,
) -> ProductQuery:
    return _product_query(
        category=category,
        min_price=min_price,
        max_price=max_price,
        tags=tags,
        in_stock=in_stock,
        featured=featured,
        include_inactive=_admin_for_inactive(include_inactive, user),
        option=option,
    )


def _product_query(
    *,
    category: str | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    tags: list[str] | None = None,
    in_stock: bool | None = None,
    featured: bool | None = None,
    include_inactive: bool = False,
    option: list[str] | None = None,
) -> ProductQuery:
    """The listing filters of validated query values (the callers checked the admin part)."""
    options: list[str] = []
    for raw in option or []:
        name, colon, value = raw.partition(":")
        if not colon or not name.strip() or not value.strip():
            raise BadOptionFilter("option filters look like Name:Value, e.g. Size:M.")
        key = option_key(" ".join(name.split()), " ".join(value.split()))
        if key not in options:
            options.append(key)
    if len(options) > MAX_OPTION_FILTERS:
        raise BadOptionFilter(f"At most {MAX_OPTION_FILTERS} option filters can be combined.")
    wanted: list[str] = []
    for raw in tags or []:
        for part in raw.split(","):
            tag = normalize_tag(part)
            if tag and tag not in wanted:
                wanted.append(tag)
    if len(wanted) > MAX_TAG_FILTERS:
        raise TooManyTags(MAX_TAG_FILTERS)
    return ProductQuery(
        category=(category or "").strip() or None,
        min_price=min_price,
        max_price=max_price,
        tags=tuple(wanted),
        in_stock=in_stock,
        featured=featured,
        include_inactive=include_inactive,
        options=tuple(options),
    )


Filters = Annotated[ProductQuery, Depends(_filters)]


def _page(result: PageResult[Product], page: PageParams, kind: str, sort: str) -> Response:
    """The page written straight to JSON bytes from the products' attributes, as
    ``ProductPage`` writes it (see ``attribute_dump``): no model is built per product, variant
    or image (FastAPI would build them, dump them, validate the dump against the response
    model and serialize that). The declared ``response_model`` stays the schema."""
    body = _page_json.json(PageContent.of(result, page, kind, sort))
    return Response(content=body, media_type="application/json")


@_products.get("", response_model=ProductPage, summary="List products")
async def list_products(
    ctx: Context, filters: Filters, raw_page: CursorPageQuery, sort: ListSort = ListSort.NEWEST
) -> Response:
    """Active products, filtered, sorted (newest first by default) and paginated, by page
    number or by cursor (``next_cursor``: stable while the catalog changes)."""
    query = dataclasses.replace(filters, sort=to_domain_sort(sort))
    page = raw_page.resolve("products", sort.value)
    result = await ctx.products.list_products(query, page)
    return _page(result, page, "products", sort.value)


# The listing's query parameters, read in one pass for an anonymous request (see
# ``_listing_args``): FastAPI's solving of ten parameters and three dependencies was a sixth
# of a category page. The signatures above stay the API's documented parameters, and the path
# for every request the quick reader does not take.
_FLAGS = {"true": True, "false": False}
_WHOLE = re.compile(r"[1-9][0-9]{0,6}")
_PRICE = TypeAdapter(PriceBound)
_LIST_SORTS = {sort.value: sort for sort in ListSort}


def _listing_args(query_string: bytes) -> tuple[ProductQuery, RawPage, ListSort] | None:
    """The filters, page and sort of a listing's query string, exactly as the declared
    parameters would read them; None when any value is not plainly valid (then FastAPI reads
    the request and answers its own 422), when one is repeated that takes one value, or for
    ``include_inactive=true`` (an admin's). Names the listing does not know are ignored, as
    FastAPI does; errors of the values' meaning (``option``, ``tags``) are raised the same."""
    # What Starlette's QueryParams does: latin-1 text, then percent-decoding as UTF-8.
    one: dict[str, str] = {}
    many: dict[str, list[str]] = {"tags": [], "option": []}
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name in many:
            many[name].append(value)
        elif name in one:
            return None
        else:
            one[name] = value
    try:
        category = one.get("category")
        if category is not None and len(category) > MAX_CATEGORY_FILTER:
            return None
        bounds: list[Decimal | None] = []
        for name in ("min_price", "max_price"):
            raw = one.get(name)
            bounds.append(None if raw is None else _PRICE.validate_python(raw))
        flags: list[bool | None] = []
        for name in ("in_stock", "featured", "include_inactive"):
            raw = one.get(name)
            flags.append(None if raw is None else _FLAGS[raw])
        if flags[2]:
            return None
        numbers: list[int] = []
        defaults = PageParams()  # what the declared parameters default to
        for name, default, most in (
            ("page", defaults.page, MAX_PAGE),
            ("page_size", defaults.page_size, MAX_PAGE_SIZE),
        ):
            raw = one.get(name)
            if raw is not None and (not _WHOLE.fullmatch(raw) or int(raw) > most):
                return None
            numbers.append(default if raw is None else int(raw))
        cursor = one.get("cursor")
        if cursor is not None and not 1 <= len(cursor) <= MAX_CURSOR_LENGTH:
            return None
        sort = _LIST_SORTS[one.get("sort", ListSort.NEWEST.value)]
    except (KeyError, ValidationError):
        return None
    query = _product_query(
        category=category,
        min_price=bounds[0],
        max_price=bounds[1],
        tags=many["tags"] or None,
        in_stock=flags[0],
        featured=flags[1],
        option=many["option"] or None,
    )
    return query, RawPage(page=numbers[0], page_size=numbers[1], cursor=cursor), sort


def _plain_listing(
    endpoint: Callable[..., Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response | FallBack]]:
    """A listing endpoint's plain read: its query string read in one pass (see routing.py)."""

    @plain_read(endpoint, query_string=True)
    async def read(request: Request) -> Response | FallBack:
        args = _listing_args(request.scope["query_string"])
        if args is None:
            return FALL_BACK
        return await endpoint(await get_context(request), *args)

    return read


_plain_listing(list_products)


@_products.get("/search", response_model=ProductPage, summary="Search products")
async def search_products(
    ctx: Context,
    filters: Filters,
    raw_page: CursorPageQuery,
    q: Annotated[str, Query(min_length=1, max_length=200, description="Words to look for")],
    sort: SearchSort = SearchSort.RELEVANCE,
) -> Response:
    """Full-text search over name, description and tags, best match first.

    Every word must match and the last one also matches as a prefix (``headph`` finds
    headphones) on SQLite; MongoDB's text index ranks any-word matches by score. Any text is
    safe: quotes, ``*`` or operators in ``q`` are searched as plain words. Ties in rank are
    broken by a stable key, so cursors (``next_cursor``) never repeat an item of a search
    whose matches do not change.
    """
    query = dataclasses.replace(filters, sort=to_domain_sort(sort))
    page = raw_page.resolve("search", sort.value)
    result = await ctx.products.search_products(q, query, page)
    return _page(result, page, "search", sort.value)


@_products.get("/featured", response_model=ProductPage, summary="Featured products")
async def list_featured_products(
    ctx: Context, filters: Filters, raw_page: CursorPageQuery, sort: ListSort = ListSort.NEWEST
) -> Response:
    """Active, featured products (the listing's filters apply too)."""
    query = dataclasses.replace(filters, featured=True, sort=to_domain_sort(sort))
    page = raw_page.resolve("products", sort.value)
    result = await ctx.products.list_products(query, page)
    return _page(result, page, "products", sort.value)


_plain_listing(list_featured_products)


@_products.post("/bulk", response_model=BulkReportOut, summary="Import products")
async def import_products(
    ctx: Context,
    _: AdminUser,
    rows: Annotated[
        list[Any],
        Body(
            min_length=1,
            max_length=MAX_BULK_ROWS,
            description="Up to 500 product objects, upserted by sku",
        ),
    ],
) -> BulkReportOut:
    """Create or update up to 500 products by sku (admins).

    Each row is validated alone: a bad row is reported in ``failed`` with its index and the
    reason, and the others are still written. A row whose sku exists updates only the fields it
    carries; a row with a new sku (or none) creates a product.
    """
    good, failed = parse_bulk_rows(rows)
    report = await ctx.products.import_products(good, failed)
    return BulkReportOut.model_validate(report)


@_one_product.get("/{product_id}", response_model=ProductOut, summary="Get a product")
@raises(ProductNotFound, InactiveNeedsAdmin)
async def get_product(
    ctx: Context,
    product_id: str,
    user: OptionalUser,
    include_inactive: Annotated[
        QueryFlag, Query(description="Admins only: also find a soft-deleted product")
    ] = False,
) -> Product:
    """One product; 404 when it is missing, inactive or the id is malformed."""
    return await ctx.products.get_product(
        product_id, include_inactive=_admin_for_inactive(include_inactive, user)
    )


@plain_read(get_product)
async def _plain_get(request: Request) -> Product:
    ctx = await get_context(request)
    return await ctx.products.get_product(request.path_params["product_id"], include_inactive=False)


@_products.post(
    "",
    response_model=ProductOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a product",
)
@raises(SkuTaken, UnknownCategory, OptionValuesInvalid, DuplicateVariant, VariantRequired)
async def create_product(ctx: Context, _: AdminUser, body: ProductCreate) -> Product:
    """Add a product (admins), with its options, variants and images in one body.

    Without ``options`` the product gets one variant made for it (its ``sku`` and ``stock``).
    409 ``sku_taken``, ``duplicate_variant``; 422 ``unknown_category``,
    ``option_values_invalid``, ``variant_required`` (a product ``stock`` beside options)."""
    return await ctx.products.create_product(body.to_draft())


@_one_product.patch("/{product_id}", response_model=ProductOut, summary="Update a product")
@raises(
    ProductNotFound,
    VariantNotFound,
    SkuTaken,
    DuplicateVariant,
    UnknownCategory,
    OptionValuesInvalid,
    VariantRequired,
)
async def update_product(
    ctx: Context, _: AdminUser, product_id: str, body: ProductUpdate
) -> Product:
    """Change only the fields sent (admins); works on inactive products (``is_active: true``
    revives one). ``stock`` only on a product without options (else 422
    ``variant_required``); new ``options`` must fit every variant.

    ``variants`` is the full list the product sells, applied in the same write: an entry with
    ``id`` changes that variant (404 ``variant_not_found`` when it is not this product's),
    one without adds a variant, a variant not listed is retired (``is_active: false``).
    409 ``duplicate_variant``, ``sku_taken``; 422 ``option_values_invalid``."""
    return await ctx.products.update_product(product_id, body.to_changes(), body.variant_entries())


@_one_product.delete(
    "/{product_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a product"
)
@raises(ProductNotFound)
async def delete_product(ctx: Context, _: AdminUser, product_id: str) -> Response:
    """Soft delete (``is_active=false``); deleting it again is still 204."""
    await ctx.products.delete_product(product_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@_one_product.post(
    "/{product_id}/variants",
    response_model=VariantOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a variant",
)
@raises(ProductNotFound, SkuTaken, DuplicateVariant, OptionValuesInvalid)
async def create_variant(
    ctx: Context, _: AdminUser, product_id: str, body: VariantCreate
) -> Variant:
    """Add a variant to a product with options (admins): one value of each option."""
    return await ctx.products.add_variant(product_id, body.to_draft())


@_one_product.patch(
    "/{product_id}/variants/{variant_id}", response_model=VariantOut, summary="Update a variant"
)
@raises(ProductNotFound, VariantNotFound, SkuTaken, DuplicateVariant, OptionValuesInvalid)
async def update_variant(
    ctx: Context, _: AdminUser, product_id: str, variant_id: str, body: VariantUpdate
) -> Variant:
    """Change only the fields sent of one variant (admins)."""
    return await ctx.products.update_variant(product_id, variant_id, body.to_changes())


@_one_product.delete(
    "/{product_id}/variants/{variant_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Retire a variant",
)
@raises(ProductNotFound, VariantNotFound)
async def delete_variant(ctx: Context, _: AdminUser, product_id: str, variant_id: str) -> Response:
    """Retire a variant (``is_active=false``, admins): past orders keep it, carts cannot add
    it; ``PATCH`` with ``is_active: true`` brings it back."""
    await ctx.products.retire_variant(product_id, variant_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@_categories.get(
    "",
    summary="List categories",
    response_model=None,
    responses={
        200: {
            "model": list[CategoryNode],
            "description": "Categories; ``children`` only with ``tree=true``",
        }
    },
)
async def list_categories(
    ctx: Context,
    tree: Annotated[QueryFlag, Query(description="Nest sub-categories under ``children``")] = False,
) -> Response:
    """Every category, by ``sort_order`` then name; ``tree=true`` nests the children."""
    if tree:
        body = _tree.dump_json(
            _tree.validate_python(await ctx.products.categories.tree(), from_attributes=True)
        )
    else:
        body = _flat.dump_json(
            _flat.validate_python(await ctx.products.categories.list_all(), from_attributes=True)
        )
    return Response(content=body, media_type="application/json")


@_categories.get("/{category_id}", response_model=CategoryOut, summary="Get a category")
@raises(CategoryNotFound)
async def get_category(ctx: Context, category_id: str) -> Any:
    """One category; 404 when missing or the id is malformed."""
    return await ctx.products.categories.get(category_id)


@_categories.post(
    "",
    response_model=CategoryOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a category",
)
@raises(CategoryExists, UnknownParent, InvalidCategoryName)
async def create_category(ctx: Context, _: AdminUser, body: CategoryCreate) -> Any:
    """Add a category (admins). 409 ``category_exists``; 422 ``unknown_parent``."""
    return await ctx.products.categories.create(body.to_draft())


@_categories.patch("/{category_id}", response_model=CategoryOut, summary="Update a category")
@raises(CategoryNotFound, CategoryExists, UnknownParent, InvalidCategoryName, CategoryCycle)
async def update_category(
    ctx: Context, _: AdminUser, category_id: str, body: CategoryUpdate
) -> Any:
    """Rename, move or reorder (admins). A rename carries over to the category's products;
    moving a category under itself or its descendants is a 422 ``category_cycle``."""
    return await ctx.products.categories.update(category_id, body.to_changes())


@_categories.delete(
    "/{category_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a category"
)
@raises(CategoryNotFound, CategoryInUse)
async def delete_category(ctx: Context, _: AdminUser, category_id: str) -> Response:
    """Delete an unused category (admins); 409 ``category_in_use`` while products or
    sub-categories use it."""
    await ctx.products.categories.delete(category_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# The service's routers, included one by one into an app (embed.routers_for): FastAPI matches
# a request against an included router's routes once per level of nesting.
routers = (_products, _one_product, _categories)
router = ShopRouter()  # the same routes as one router
for _part in routers:
    router.include_router(_part)
