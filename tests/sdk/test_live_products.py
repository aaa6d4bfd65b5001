"""``client.products`` against the real app: every method, filters, money, admin rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

import shopkit
from shopkit import AsyncShopClient
from tests.sdk.conftest import Catalog

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def test_create_and_get(
    admin_shop: AsyncShopClient, anon: AsyncShopClient, catalog: Catalog
) -> None:
    made = catalog.headphones
    assert made.price == Decimal("99.99") and str(made.price) == "99.99"
    assert (made.sku, made.category, made.stock) == ("HP-1", "Audio", 5)
    assert made.tags == ["audio", "wireless"] and made.is_featured and made.is_active
    fetched = await anon.products.get(made.id)
    assert fetched == made


async def test_create_refusals(
    admin_shop: AsyncShopClient, shopper: AsyncShopClient, catalog: Catalog
) -> None:
    with pytest.raises(shopkit.SkuTakenError):
        await admin_shop.products.create(name="Dup", price=1, category="Audio", sku="HP-1")
    with pytest.raises(shopkit.UnprocessableEntityError):
        await admin_shop.products.create(name="Lost", price=1, category="No Such Category")
    with pytest.raises(shopkit.UnprocessableEntityError) as too_precise:
        await admin_shop.products.create(name="Odd", price=Decimal("1.005"), category="Audio")
    assert "price" in str(too_precise.value)
    with pytest.raises(shopkit.UnprocessableEntityError):
        await admin_shop.products.create(name="Neg", price=Decimal("-1"), category="Audio")
    with pytest.raises(shopkit.PermissionDeniedError):
        await shopper.products.create(name="Mine", price=1, category="Audio")


async def test_get_missing_or_malformed_is_not_found(anon: AsyncShopClient) -> None:
    with pytest.raises(shopkit.NotFoundError):
        await anon.products.get("0" * 24)
    with pytest.raises(shopkit.NotFoundError):
        await anon.products.get("not-an-id")


async def test_list_filters_and_sorts(anon: AsyncShopClient, catalog: Catalog) -> None:
    everything = await anon.products.list()
    assert everything.total == 4 and not everything.has_next
    assert everything.items[0].name == "Electric Kettle"  # newest first

    async def names(**filters: object) -> list[str]:
        page = await anon.products.list(**filters)  # type: ignore[arg-type]
        return [p.name for p in page.items]

    # A category includes its sub-categories.
    assert set(await names(category="Electronics")) == {
        "Wireless Headphones",
        "Bookshelf Speaker",
        "USB-C Cable",
    }
    assert set(await names(category="Audio")) == {"Wireless Headphones", "Bookshelf Speaker"}
    assert set(await names(min_price=Decimal("35.00"), max_price="99.99")) == {
        "Wireless Headphones",
        "Bookshelf Speaker",
        "Electric Kettle",
    }
    assert await names(tags=["audio", "wireless"]) == ["Wireless Headphones"]
    assert set(await names(tags=["audio"])) == {"Wireless Headphones", "Bookshelf Speaker"}
    assert "Bookshelf Speaker" not in await names(in_stock=True)
    assert await names(in_stock=False) == ["Bookshelf Speaker"]
    assert await names(featured=True) == ["Wireless Headphones"]
    assert await names(sort="price_asc") == [
        "USB-C Cable",
        "Electric Kettle",
        "Bookshelf Speaker",
        "Wireless Headphones",
    ]
    assert await names(sort="price_desc") == [
        "Wireless Headphones",
        "Bookshelf Speaker",
        "Electric Kettle",
        "USB-C Cable",
    ]
    assert await names(sort="name") == [
        "Bookshelf Speaker",
        "Electric Kettle",
        "USB-C Cable",
        "Wireless Headphones",
    ]
    with pytest.raises(shopkit.UnprocessableEntityError):
        await anon.products.list(page_size=101)


async def test_search(anon: AsyncShopClient, catalog: Catalog) -> None:
    found = await anon.products.search("headphones")
    assert [p.id for p in found.items] == [catalog.headphones.id]
    audio = await anon.products.search("audio", in_stock=True)
    assert [p.id for p in audio.items] == [catalog.headphones.id]
    none = await anon.products.search("submarine")
    assert none.total == 0 and none.items == []
    with pytest.raises(shopkit.UnprocessableEntityError):
        await anon.products.search("")


async def test_featured(anon: AsyncShopClient, catalog: Catalog) -> None:
    page = await anon.products.featured()
    assert [p.id for p in page.items] == [catalog.headphones.id]


async def test_update_is_partial_and_exact(admin_shop: AsyncShopClient, catalog: Catalog) -> None:
    updated = await admin_shop.products.update(
        catalog.cable.id, price=Decimal("12.30"), stock=7, tags=["cable", "usb"]
    )
    assert updated.price == Decimal("12.30") and str(updated.price) == "12.30"
    assert (updated.stock, updated.tags) == (7, ["cable", "usb"])
    assert updated.name == catalog.cable.name and updated.sku == catalog.cable.sku
    assert updated.updated_at >= catalog.cable.updated_at
    cleared = await admin_shop.products.update(catalog.cable.id, image_url=None)
    assert cleared.image_url is None
    with pytest.raises(shopkit.NotFoundError):
        await admin_shop.products.update("0" * 24, stock=1)


async def test_delete_is_soft_and_admins_can_revive(
    admin_shop: AsyncShopClient, anon: AsyncShopClient, shopper: AsyncShopClient, catalog: Catalog
) -> None:
    pid = catalog.kettle.id
    with pytest.raises(shopkit.PermissionDeniedError):
        await shopper.products.delete(pid)
    assert await admin_shop.products.delete(pid) is None
    await admin_shop.products.delete(pid)  # again: still fine
    with pytest.raises(shopkit.NotFoundError):
        await anon.products.get(pid)
    assert pid not in [p.id for p in (await anon.products.list()).items]
    hidden = await admin_shop.products.get(pid, include_inactive=True)
    assert not hidden.is_active
    listed = await admin_shop.products.list(include_inactive=True)
    assert pid in [p.id for p in listed.items]
    revived = await admin_shop.products.update(pid, is_active=True)
    assert revived.is_active
    assert (await anon.products.get(pid)).id == pid


async def test_bulk_upserts_by_sku(admin_shop: AsyncShopClient, catalog: Catalog) -> None:
    report = await admin_shop.products.bulk(
        [
            {
                "sku": "HP-1",
                "name": "Wireless Headphones",
                "price": Decimal("89.99"),
                "category": "Audio",
                "stock": 9,
            },
            {"sku": "MUG-1", "name": "Mug", "price": "7.50", "category": "Kitchen", "stock": 20},
            {"sku": "BAD-1", "name": "Nowhere", "price": 1, "category": "No Such Category"},
        ]
    )
    assert (report.created, report.updated) == (1, 1)
    assert [(f.index, f.sku) for f in report.failed] == [(2, "BAD-1")]
    assert report.failed[0].detail
    updated = await admin_shop.products.get(catalog.headphones.id)
    assert updated.price == Decimal("89.99") and updated.stock == 9
    mug = (await admin_shop.products.search("mug")).items[0]
    assert mug.price == Decimal("7.50") and mug.sku == "MUG-1"
    # The same rows again change nothing new.
    again = await admin_shop.products.bulk(
        [{"sku": "MUG-1", "name": "Mug", "price": "7.50", "category": "Kitchen", "stock": 20}]
    )
    assert (again.created, again.updated, again.unchanged, again.failed) == (0, 0, 1, [])


async def test_iterate_walks_every_page(admin_shop: AsyncShopClient, catalog: Catalog) -> None:
    rows = [
        {
            "sku": f"BULK-{i:03}",
            "name": f"Widget {i:03}",
            "price": Decimal("1.25"),
            "category": "Kitchen",
            "stock": 1,
        }
        for i in range(45)
    ]
    assert (await admin_shop.products.bulk(rows)).created == 45
    seen = [
        p.sku
        async for p in admin_shop.products.iterate(category="Kitchen", sort="name", page_size=10)
    ]
    assert len(seen) == 46 and len(set(seen)) == 46
    widgets = [s for s in seen if s and s.startswith("BULK-")]
    assert widgets == sorted(widgets)


async def test_iterate_scrolls_by_cursor_over_a_changing_catalog(
    admin_shop: AsyncShopClient, catalog: Catalog
) -> None:
    """While a walk runs, products it has passed are deleted and new ones are added: a walk by
    page number would then skip products; the cursor walk sees each survivor exactly once."""
    rows = [
        {"sku": f"CUR-{i:03}", "name": f"Cursor {i:03}", "price": Decimal("2.00"),
         "category": "Kitchen", "stock": 1}
        for i in range(30)
    ]  # fmt: skip
    assert (await admin_shop.products.bulk(rows)).created == 30
    before = {p.id for p in (await admin_shop.products.list(page_size=100)).items}
    first = await admin_shop.products.list(sort="name", page_size=7)
    assert first.page == 1 and first.next_cursor
    seen = [p.id for p in first.items]
    page = first
    deleted: set[str] = set()
    while (page := await page.next_page()) is not None:  # type: ignore[assignment]
        assert page.page is None  # fetched by cursor
        seen.extend(p.id for p in page.items)
        # Retire two products already seen (shifts every later page number by two).
        for pid in [pid for pid in seen if pid not in deleted][:2]:
            await admin_shop.products.delete(pid)
            deleted.add(pid)
    assert len(seen) == len(set(seen))
    assert before - deleted <= set(seen)
    walked = [p.id async for p in admin_shop.products.iterate(page_size=5)]
    assert sorted(walked) == sorted(before - deleted)
