"""MongoDB categories without transactions: a rename is one write, a delete cannot orphan.

Products hold their category by id and show its name as read, so an interrupted rename cannot
leave a product with a name that no longer exists. A delete marks the category before it
counts its products, and a product write checks the category after it wrote: the tests drive
each interleaving of the two deterministically, by running one inside a step of the other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from shopkit_server.products.models import Category, ProductQuery
from shopkit_server.products.repository import MissingCategory
from shopkit_server.store import Store
from tests.conftest import BACKENDS
from tests.store.test_products_contract import make_category, names, product

pytestmark = pytest.mark.parametrize(
    "backend", [b for b in BACKENDS if b.startswith("mongo")], indirect=True
)


class Hooked:
    """A collection that runs ``hook`` around its method ``name`` (before or after it)."""

    def __init__(
        self, inner: Any, name: str, hook: Callable[[], Awaitable[None]], *, after: bool = False
    ) -> None:
        self.inner, self.name, self.hook, self.after = inner, name, hook, after

    def __getattr__(self, attr: str) -> Any:
        method = getattr(self.inner, attr)
        if attr != self.name:
            return method

        async def hooked(*args: Any, **kwargs: Any) -> Any:
            if not self.after:
                await self.hook()
            result = await method(*args, **kwargs)
            if self.after:
                await self.hook()
            return result

        return hooked


async def no_orphans(store: Store) -> None:
    known = {c.name for c in await store.categories.list_all()}
    page = await store.products.find(ProductQuery(include_inactive=True), offset=0, limit=100)
    assert all(p.category in known for p in page.items), [p.category for p in page.items]


async def test_a_rename_is_one_write_however_the_products_fail(store: Store) -> None:
    kitchen = await make_category(store, "Kitchen")
    await store.products.create(product())

    async def unreachable() -> None:
        raise AutoReconnect("products collection unreachable")

    repo: Any = store.categories
    repo._products = Hooked(repo._products, "update_many", unreachable)
    renamed = Category(kitchen.id, "Cookware", "cookware", None, 0)
    await store.categories.update(renamed)

    assert await names(store, ProductQuery(categories=("Cookware",))) == ["Mug"]
    await no_orphans(store)


async def test_a_product_written_after_its_category_was_deleted_is_withdrawn(
    store: Store,
) -> None:
    kitchen = await make_category(store, "Kitchen")
    repo: Any = store.products

    async def delete_the_category() -> None:  # after the create looked the category up
        assert not (await store.categories.delete_if_unused(kitchen.id)).in_use

    repo._products = Hooked(repo._products, "insert_one", delete_the_category)
    with pytest.raises(MissingCategory):
        await store.products.create(product())

    assert await store.categories.get(kitchen.id) is None
    assert await store.products.count() == 0


async def test_a_product_written_while_its_category_is_being_deleted_is_withdrawn(
    store: Store,
) -> None:
    kitchen = await make_category(store, "Kitchen")
    outcome: list[BaseException | None] = []

    async def create_a_product() -> None:  # after the delete counted 0 products
        try:
            await store.products.create(product())
            outcome.append(None)
        except MissingCategory as exc:
            outcome.append(exc)

    repo: Any = store.categories
    repo._products = Hooked(repo._products, "count_documents", create_a_product, after=True)
    assert not (await store.categories.delete_if_unused(kitchen.id)).in_use

    assert len(outcome) == 1 and isinstance(outcome[0], MissingCategory)
    assert await store.products.count() == 0
    await no_orphans(store)


async def test_a_move_into_a_category_being_deleted_is_undone(store: Store) -> None:
    kitchen, garden = await make_category(store, "Kitchen"), await make_category(store, "Garden")
    mug = product()
    await store.products.create(mug)
    moved: list[BaseException | None] = []

    async def move_the_mug() -> None:
        try:
            await store.products.update(mug.id, {"category": "Garden"}, mug.updated_at)
            moved.append(None)
        except MissingCategory as exc:
            moved.append(exc)

    repo: Any = store.categories
    repo._products = Hooked(repo._products, "count_documents", move_the_mug, after=True)
    assert not (await store.categories.delete_if_unused(garden.id)).in_use

    assert len(moved) == 1 and isinstance(moved[0], MissingCategory)
    assert (await store.products.get(mug.id)).category == kitchen.name  # type: ignore[union-attr]
    await no_orphans(store)


async def test_products_stored_with_a_category_name_are_migrated_to_its_id(
    store: Store,
) -> None:
    from shopkit_server.store.mongo.categories import migrate_product_categories

    await make_category(store, "Kitchen")
    mug = product()
    await store.products.create(mug)
    repo: Any = store.products
    collection = repo._products
    from bson import ObjectId

    # The layout before category_id: the name in every product.
    await collection.update_one(
        {"_id": ObjectId(mug.id)}, {"$set": {"category": "Kitchen"}, "$unset": {"category_id": ""}}
    )
    await collection.database["shopkit_meta"].delete_many({})  # as a store before the change
    await collection.create_index([("category", 1), ("price", 1)], name="category_price")
    await migrate_product_categories(collection.database)

    assert "category_price" not in await collection.index_information()

    assert (await store.products.get(mug.id)).category == "Kitchen"  # type: ignore[union-attr]
    assert await names(store, ProductQuery(categories=("Kitchen",))) == ["Mug"]


async def test_import_rows_whose_category_was_deleted_meanwhile_are_undone(
    store: Store,
) -> None:
    from decimal import Decimal

    from shopkit_server.products.models import BulkRow, ProductDraft
    from tests.store.test_products_contract import REQUIRED, T0

    kitchen = await make_category(store, "Kitchen")
    garden = await make_category(store, "Garden")
    existing = product("Old name", sku="S-1", category="Kitchen")
    await store.products.create(existing)
    rows = [
        BulkRow(
            0,
            ProductDraft(name="Moved", price=Decimal("3.00"), category="Garden", sku="S-1"),
            REQUIRED,
        ),
        BulkRow(
            1,
            ProductDraft(name="Fresh", price=Decimal("4.00"), category="Garden", sku="S-2"),
            REQUIRED,
        ),
        BulkRow(
            2,
            ProductDraft(name="No sku", price=Decimal("5.00"), category="Garden"),
            frozenset({"name", "price", "category"}),
        ),
        BulkRow(
            3,
            ProductDraft(name="Stays", price=Decimal("6.00"), category="Kitchen", sku="S-3"),
            REQUIRED,
        ),
    ]

    async def delete_garden() -> None:  # after the import looked its categories up
        assert not (await store.categories.delete_if_unused(garden.id)).in_use

    repo: Any = store.products
    repo._products = Hooked(repo._products, "bulk_write", delete_garden)
    outcome = await store.products.upsert_many(rows, T0)

    assert (outcome.created, outcome.updated) == ([3], [])
    assert [f.index for f in outcome.failed] == [0, 1, 2]
    assert await store.products.get(existing.id) == existing  # restored as it was
    assert sorted(await names(store, ProductQuery())) == ["Old name", "Stays"]
    assert kitchen.id in {c.id for c in await store.categories.list_all()}
    await no_orphans(store)
