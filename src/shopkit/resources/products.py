"""``client.products``: the catalog (reads for anyone, writes for admins)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from decimal import Decimal
from functools import cached_property
from typing import Any, Unpack

from shopkit._pagination import AsyncPage, Position, walk_pages
from shopkit._types import NOT_GIVEN, NotGiven, RequestOptions, query, strip_not_given
from shopkit.resources._resource import AsyncAPIResource, money, segment
from shopkit.types.products import (
    BulkResult,
    ImageInput,
    OptionInput,
    Product,
    ProductInput,
    ProductSort,
    SearchSort,
    Variant,
    VariantInput,
    VariantPatchInput,
)

Amount = Decimal | int | str


class AsyncProducts(AsyncAPIResource):
    @cached_property
    def variants(self) -> AsyncVariants:
        """Add, change and retire single variants of a product (admins)."""
        return AsyncVariants(self._client)

    async def list(
        self,
        *,
        category: str | None = None,
        min_price: Amount | None = None,
        max_price: Amount | None = None,
        tags: Sequence[str] | None = None,
        in_stock: bool | None = None,
        featured: bool | None = None,
        option: Sequence[str] | None = None,
        sort: ProductSort | None = None,
        include_inactive: bool | None = None,
        page: int = 1,
        page_size: int = 20,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPage[Product]:
        """One page of active products, filtered and sorted (``newest`` first by default).

        ``category`` includes its sub-categories; every tag in ``tags`` must match; every
        ``option`` (``"Size:M"``) must be on one active variant in stock;
        ``include_inactive`` (admins) shows soft-deleted products too.
        """
        filters = _filters(
            category, min_price, max_price, tags, in_stock, featured, sort, include_inactive, option
        )
        return await self._page("/products", filters, cursor or page, page_size, options)

    async def search(
        self,
        q: str,
        *,
        category: str | None = None,
        min_price: Amount | None = None,
        max_price: Amount | None = None,
        tags: Sequence[str] | None = None,
        in_stock: bool | None = None,
        featured: bool | None = None,
        option: Sequence[str] | None = None,
        sort: SearchSort | None = None,
        include_inactive: bool | None = None,
        page: int = 1,
        page_size: int = 20,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPage[Product]:
        """Full-text search over name, description and tags, best match first (``relevance``);
        the filters of :meth:`list` apply too."""
        filters = {
            "q": q,
            **_filters(
                category,
                min_price,
                max_price,
                tags,
                in_stock,
                featured,
                sort,
                include_inactive,
                option,
            ),
        }
        return await self._page("/products/search", filters, cursor or page, page_size, options)

    async def featured(
        self,
        *,
        category: str | None = None,
        min_price: Amount | None = None,
        max_price: Amount | None = None,
        tags: Sequence[str] | None = None,
        in_stock: bool | None = None,
        option: Sequence[str] | None = None,
        sort: ProductSort | None = None,
        page: int = 1,
        page_size: int = 20,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPage[Product]:
        """Active, featured products (the filters of :meth:`list` apply too)."""
        filters = _filters(category, min_price, max_price, tags, in_stock, None, sort, None, option)
        return await self._page("/products/featured", filters, cursor or page, page_size, options)

    def iterate(
        self,
        *,
        category: str | None = None,
        min_price: Amount | None = None,
        max_price: Amount | None = None,
        tags: Sequence[str] | None = None,
        in_stock: bool | None = None,
        featured: bool | None = None,
        option: Sequence[str] | None = None,
        sort: ProductSort | None = None,
        include_inactive: bool | None = None,
        page_size: int = 100,
        **options: Unpack[RequestOptions],
    ) -> AsyncIterator[Product]:
        """Every product :meth:`list` would return, one page fetched at a time, lazily::

        async for product in client.products.iterate(category="Electronics"):
            ...
        """
        filters = _filters(
            category, min_price, max_price, tags, in_stock, featured, sort, include_inactive, option
        )
        return walk_pages(lambda n: self._page("/products", filters, n, page_size, options))

    async def get(
        self,
        product_id: str,
        *,
        include_inactive: bool | None = None,
        **options: Unpack[RequestOptions],
    ) -> Product:
        """One product (404 when missing or inactive, unless an admin asks for inactive ones)."""
        response = await self._client.request(
            "GET",
            f"/products/{segment(product_id)}",
            params=query({"include_inactive": include_inactive}),
            options=options,
        )
        product: Product = self._client.parse(Product, response)
        return product

    async def create(
        self,
        *,
        name: str,
        price: Amount,
        category: str,
        sku: str | NotGiven | None = NOT_GIVEN,
        description: str | NotGiven = NOT_GIVEN,
        tags: Sequence[str] | NotGiven = NOT_GIVEN,
        image_url: str | NotGiven | None = NOT_GIVEN,
        stock: int | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        is_featured: bool | NotGiven = NOT_GIVEN,
        options: Sequence[OptionInput] | NotGiven = NOT_GIVEN,
        variants: Sequence[VariantInput] | NotGiven = NOT_GIVEN,
        images: Sequence[ImageInput] | NotGiven = NOT_GIVEN,
        **request_options: Unpack[RequestOptions],
    ) -> Product:
        """Add a product (admins). ``category`` must name an existing category.

        With ``options`` (up to 3, e.g. ``[{"name": "Size", "values": ["S", "M"]}]``) give its
        ``variants`` (each with one value of every option, its own ``sku`` and ``stock``);
        without, the product gets one variant made for it (its ``sku`` and ``stock``).
        """
        body = _product_body(
            options=options,
            variants=variants,
            images=images,
            name=name,
            price=price,
            category=category,
            sku=sku,
            description=description,
            tags=tags,
            image_url=image_url,
            stock=stock,
            is_active=is_active,
            is_featured=is_featured,
        )
        response = await self._client.request(
            "POST", "/products", json=body, options=request_options
        )
        product: Product = self._client.parse(Product, response)
        return product

    async def bulk(
        self, rows: Iterable[ProductInput | Mapping[str, Any]], **options: Unpack[RequestOptions]
    ) -> BulkResult:
        """Upsert up to 500 products by ``sku`` in one call (admins).

        A bad row does not stop the others: it comes back in ``failed`` with its index.
        """
        body = [_row(row) for row in rows]
        response = await self._client.request("POST", "/products/bulk", json=body, options=options)
        result: BulkResult = self._client.parse(BulkResult, response)
        return result

    async def update(
        self,
        product_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        price: Amount | NotGiven = NOT_GIVEN,
        category: str | NotGiven = NOT_GIVEN,
        sku: str | NotGiven | None = NOT_GIVEN,
        description: str | NotGiven = NOT_GIVEN,
        tags: Sequence[str] | NotGiven = NOT_GIVEN,
        image_url: str | NotGiven | None = NOT_GIVEN,
        stock: int | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        is_featured: bool | NotGiven = NOT_GIVEN,
        options: Sequence[OptionInput] | NotGiven = NOT_GIVEN,
        images: Sequence[ImageInput] | NotGiven = NOT_GIVEN,
        variants: Sequence[VariantPatchInput] | NotGiven = NOT_GIVEN,
        **request_options: Unpack[RequestOptions],
    ) -> Product:
        """Change only the fields given (admins); ``is_active=True`` revives a deleted product.

        ``stock`` only on a product without options (its one variant's); ``options`` must
        still fit every variant. ``variants`` is the full list the product sells, applied in
        one write: an entry with ``id`` changes that variant (only the keys given), one
        without adds a variant, a variant not listed is retired (``is_active=False``).
        Single variants also change through :attr:`variants`.
        """
        body = _product_body(
            options=options,
            images=images,
            variants=variants,
            name=name,
            price=price,
            category=category,
            sku=sku,
            description=description,
            tags=tags,
            image_url=image_url,
            stock=stock,
            is_active=is_active,
            is_featured=is_featured,
        )
        response = await self._client.request(
            "PATCH", f"/products/{segment(product_id)}", json=body, options=request_options
        )
        product: Product = self._client.parse(Product, response)
        return product

    async def delete(self, product_id: str, **options: Unpack[RequestOptions]) -> None:
        """Soft-delete (``is_active=false``); deleting twice is fine."""
        await self._client.request("DELETE", f"/products/{segment(product_id)}", options=options)

    async def _page(
        self,
        path: str,
        filters: dict[str, Any],
        position: Position,
        page_size: int,
        options: RequestOptions,
    ) -> AsyncPage[Product]:
        where = {"cursor": position} if isinstance(position, str) else {"page": position}
        params = {**filters, **where, "page_size": page_size}
        response = await self._client.request("GET", path, params=params, options=options)
        result: AsyncPage[Product] = self._client.parse(AsyncPage[Product], response)
        result._fetch = lambda n: self._page(path, filters, n, page_size, options)
        return result


def _filters(
    category: str | None,
    min_price: Amount | None,
    max_price: Amount | None,
    tags: Sequence[str] | None,
    in_stock: bool | None,
    featured: bool | None,
    sort: str | None,
    include_inactive: bool | None,
    option: Sequence[str] | None = None,
) -> dict[str, Any]:
    if isinstance(tags, str):  # tags="audio" would otherwise become a, u, d, i, o
        tags = [tags]
    if isinstance(option, str):
        option = [option]
    return query(
        {
            "category": category,
            "min_price": None if min_price is None else money(min_price, "min_price"),
            "max_price": None if max_price is None else money(max_price, "max_price"),
            "tags": list(tags) if tags else None,
            "in_stock": in_stock,
            "featured": featured,
            "sort": sort,
            "include_inactive": include_inactive,
            "option": list(option) if option else None,
        }
    )


def _product_body(**fields: Any) -> dict[str, Any]:
    """The JSON body of a create or update: only the fields given, money exact, lists lists."""
    body = strip_not_given(fields)
    if "price" in body:
        body["price"] = money(body["price"], "price")
    for name in ("tags", "options", "images"):
        if name in body:
            body[name] = [dict(v) if isinstance(v, Mapping) else v for v in body[name]]
    if "variants" in body:
        body["variants"] = [_variant_body(dict(v)) for v in body["variants"]]
    return body


def _variant_body(fields: dict[str, Any]) -> dict[str, Any]:
    body = strip_not_given(fields)
    if body.get("price") is not None:
        body["price"] = money(body["price"], "price")
    if "option_values" in body:
        body["option_values"] = dict(body["option_values"])
    return body


def _row(row: ProductInput | Mapping[str, Any]) -> dict[str, Any]:
    data = dict(row)
    if "price" in data and data["price"] is not None:
        data["price"] = money(data["price"], "price")
    if "variants" in data:
        data["variants"] = [_variant_body(dict(v)) for v in data["variants"]]
    return data


class AsyncVariants(AsyncAPIResource):
    """``client.products.variants``: one product's variants (admins)."""

    async def create(
        self,
        product_id: str,
        *,
        option_values: Mapping[str, str],
        sku: str | NotGiven | None = NOT_GIVEN,
        price: Amount | NotGiven | None = NOT_GIVEN,
        stock: int | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        image_url: str | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Variant:
        """Add a variant to a product with options: one value of each of its options."""
        body = _variant_body(
            {
                "option_values": option_values,
                "sku": sku,
                "price": price,
                "stock": stock,
                "is_active": is_active,
                "image_url": image_url,
            }
        )
        response = await self._client.request(
            "POST", f"/products/{segment(product_id)}/variants", json=body, options=options
        )
        variant: Variant = self._client.parse(Variant, response)
        return variant

    async def update(
        self,
        product_id: str,
        variant_id: str,
        *,
        option_values: Mapping[str, str] | NotGiven = NOT_GIVEN,
        sku: str | NotGiven | None = NOT_GIVEN,
        price: Amount | NotGiven | None = NOT_GIVEN,
        stock: int | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        image_url: str | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Variant:
        """Change only the fields given of one variant (``price=None``: the product's)."""
        body = _variant_body(
            {
                "option_values": option_values,
                "sku": sku,
                "price": price,
                "stock": stock,
                "is_active": is_active,
                "image_url": image_url,
            }
        )
        path = f"/products/{segment(product_id)}/variants/{segment(variant_id)}"
        response = await self._client.request("PATCH", path, json=body, options=options)
        variant: Variant = self._client.parse(Variant, response)
        return variant

    async def delete(
        self, product_id: str, variant_id: str, **options: Unpack[RequestOptions]
    ) -> None:
        """Retire a variant (``is_active=false``): past orders keep it, carts cannot add it."""
        path = f"/products/{segment(product_id)}/variants/{segment(variant_id)}"
        await self._client.request("DELETE", path, options=options)
