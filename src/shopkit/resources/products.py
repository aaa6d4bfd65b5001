"""``client.products``: the catalog (reads for anyone, writes for admins)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Unpack

from shopkit._pagination import AsyncPage, Position, walk_pages
from shopkit._types import NOT_GIVEN, NotGiven, RequestOptions, query, strip_not_given
from shopkit.resources._resource import AsyncAPIResource, money, segment
from shopkit.types.products import BulkResult, Product, ProductInput, ProductSort, SearchSort

Amount = Decimal | int | str


class AsyncProducts(AsyncAPIResource):
    async def list(
        self,
        *,
        category: str | None = None,
        min_price: Amount | None = None,
        max_price: Amount | None = None,
        tags: Sequence[str] | None = None,
        in_stock: bool | None = None,
        featured: bool | None = None,
        sort: ProductSort | None = None,
        include_inactive: bool | None = None,
        page: int = 1,
        page_size: int = 20,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPage[Product]:
        """One page of active products, filtered and sorted (``newest`` first by default).

        ``category`` includes its sub-categories; every tag in ``tags`` must match;
        ``include_inactive`` (admins) shows soft-deleted products too.
        """
        filters = _filters(
            category, min_price, max_price, tags, in_stock, featured, sort, include_inactive
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
                category, min_price, max_price, tags, in_stock, featured, sort, include_inactive
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
        sort: ProductSort | None = None,
        page: int = 1,
        page_size: int = 20,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPage[Product]:
        """Active, featured products (the filters of :meth:`list` apply too)."""
        filters = _filters(category, min_price, max_price, tags, in_stock, None, sort, None)
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
            category, min_price, max_price, tags, in_stock, featured, sort, include_inactive
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
        **options: Unpack[RequestOptions],
    ) -> Product:
        """Add a product (admins). ``category`` must name an existing category."""
        body = _product_body(
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
        response = await self._client.request("POST", "/products", json=body, options=options)
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
        **options: Unpack[RequestOptions],
    ) -> Product:
        """Change only the fields given (admins); ``is_active=True`` revives a deleted product."""
        body = _product_body(
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
            "PATCH", f"/products/{segment(product_id)}", json=body, options=options
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
) -> dict[str, Any]:
    if isinstance(tags, str):  # tags="audio" would otherwise become a, u, d, i, o
        tags = [tags]
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
        }
    )


def _product_body(**fields: Any) -> dict[str, Any]:
    """The JSON body of a create or update: only the fields given, money exact, tags a list."""
    body = strip_not_given(fields)
    if "price" in body:
        body["price"] = money(body["price"], "price")
    if "tags" in body:
        body["tags"] = list(body["tags"])
    return body


def _row(row: ProductInput | Mapping[str, Any]) -> dict[str, Any]:
    data = dict(row)
    if "price" in data and data["price"] is not None:
        data["price"] = money(data["price"], "price")
    return data
