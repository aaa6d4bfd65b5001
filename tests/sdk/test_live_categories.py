"""``client.categories`` against the real app."""

from __future__ import annotations

import pytest

import shopkit
from shopkit import AsyncShopClient
from tests.sdk.conftest import Catalog

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def test_create_and_list(admin_shop: AsyncShopClient, anon: AsyncShopClient) -> None:
    garden = await admin_shop.categories.create(name="Garden Tools", sort_order=5)
    assert garden.name == "Garden Tools" and garden.slug == "garden-tools"
    assert garden.parent_id is None and garden.sort_order == 5
    hoses = await admin_shop.categories.create(name="Hoses", parent_id=garden.id)
    assert hoses.parent_id == garden.id
    assert await anon.categories.get(hoses.id) == hoses
    listed = await anon.categories.list()  # anyone may read
    assert {c.name for c in listed} >= {"Garden Tools", "Hoses"}
    assert all(c.children == [] for c in listed)


async def test_list_orders_by_sort_order_then_name(
    admin_shop: AsyncShopClient, catalog: Catalog
) -> None:
    listed = await admin_shop.categories.list()
    roots = [c for c in listed if c.parent_id is None]
    assert [c.name for c in roots] == ["Electronics", "Kitchen"]
    keys = [(c.sort_order, c.name) for c in listed]
    assert keys == sorted(keys)


async def test_tree_nests_children(anon: AsyncShopClient, catalog: Catalog) -> None:
    tree = await anon.categories.list(tree=True)
    by_name = {c.name: c for c in tree}
    assert set(by_name) == {"Electronics", "Kitchen"}
    assert [c.name for c in by_name["Electronics"].children] == ["Audio"]
    assert by_name["Electronics"].children[0].parent_id == catalog.electronics.id


async def test_update_renames_moves_and_reorders(
    admin_shop: AsyncShopClient, catalog: Catalog
) -> None:
    renamed = await admin_shop.categories.update(catalog.kitchen.id, name="Kitchenware")
    assert renamed.name == "Kitchenware"
    moved = await admin_shop.categories.update(catalog.audio.id, parent_id=None, sort_order=0)
    assert moved.parent_id is None and moved.sort_order == 0
    back = await admin_shop.categories.update(catalog.audio.id, parent_id=catalog.electronics.id)
    assert back.parent_id == catalog.electronics.id
    with pytest.raises(shopkit.UnprocessableEntityError):  # Electronics under its own child
        await admin_shop.categories.update(catalog.electronics.id, parent_id=catalog.audio.id)


async def test_delete(admin_shop: AsyncShopClient, catalog: Catalog) -> None:
    empty = await admin_shop.categories.create(name="Seasonal")
    assert await admin_shop.categories.delete(empty.id) is None
    assert "Seasonal" not in {c.name for c in await admin_shop.categories.list()}
    with pytest.raises(shopkit.NotFoundError):
        await admin_shop.categories.delete(empty.id)
    with pytest.raises(shopkit.NotFoundError):
        await admin_shop.categories.get(empty.id)


async def test_refusals(
    admin_shop: AsyncShopClient, shopper: AsyncShopClient, catalog: Catalog
) -> None:
    with pytest.raises(shopkit.CategoryExistsError):
        await admin_shop.categories.create(name="Electronics")
    with pytest.raises(shopkit.CategoryInUseError):  # has products and a sub-category
        await admin_shop.categories.delete(catalog.electronics.id)
    with pytest.raises(shopkit.CategoryInUseError):  # has products
        await admin_shop.categories.delete(catalog.kitchen.id)
    with pytest.raises(shopkit.UnprocessableEntityError):
        await admin_shop.categories.create(name="Orphan", parent_id="0" * 24)
    with pytest.raises(shopkit.PermissionDeniedError):
        await shopper.categories.create(name="Sneaky")
