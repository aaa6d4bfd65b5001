"""``client.categories``: the category tree (reads for anyone, writes for admins)."""

from __future__ import annotations

from typing import Unpack

from shopkit._types import NOT_GIVEN, NotGiven, RequestOptions, query, strip_not_given
from shopkit.resources._resource import AsyncAPIResource, segment
from shopkit.types.products import Category


class AsyncCategories(AsyncAPIResource):
    async def list(
        self, *, tree: bool = False, **options: Unpack[RequestOptions]
    ) -> list[Category]:
        """Every category by ``sort_order`` then name; ``tree=True`` nests them in ``children``."""
        response = await self._client.request(
            "GET", "/categories", params=query({"tree": tree or None}), options=options
        )
        categories: list[Category] = self._client.parse(list[Category], response)
        return categories

    async def get(self, category_id: str, **options: Unpack[RequestOptions]) -> Category:
        """One category."""
        response = await self._client.request(
            "GET", f"/categories/{segment(category_id)}", options=options
        )
        category: Category = self._client.parse(Category, response)
        return category

    async def create(
        self,
        *,
        name: str,
        parent_id: str | NotGiven | None = NOT_GIVEN,
        sort_order: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Category:
        """Add a category (admins), under ``parent_id`` if given."""
        body = strip_not_given({"name": name, "parent_id": parent_id, "sort_order": sort_order})
        response = await self._client.request("POST", "/categories", json=body, options=options)
        category: Category = self._client.parse(Category, response)
        return category

    async def update(
        self,
        category_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        parent_id: str | NotGiven | None = NOT_GIVEN,
        sort_order: int | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Category:
        """Rename, move (``parent_id=None`` makes it a root) or reorder a category (admins)."""
        body = strip_not_given({"name": name, "parent_id": parent_id, "sort_order": sort_order})
        response = await self._client.request(
            "PATCH", f"/categories/{segment(category_id)}", json=body, options=options
        )
        category: Category = self._client.parse(Category, response)
        return category

    async def delete(self, category_id: str, **options: Unpack[RequestOptions]) -> None:
        """Delete a category no product or sub-category uses (admins)."""
        await self._client.request("DELETE", f"/categories/{segment(category_id)}", options=options)
