"""Variants through the SDK against the real app: create, the variants resource, the cart."""

from __future__ import annotations

from decimal import Decimal

import pytest

import shopkit
from shopkit import AsyncShopClient
from tests.sdk.conftest import Catalog

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def test_variants_end_to_end(
    admin_shop: AsyncShopClient, shopper: AsyncShopClient, catalog: Catalog
) -> None:
    tee = await admin_shop.products.create(
        name="Tee",
        price="20.00",
        category="Audio",
        sku="TEE",
        options=[{"name": "Size", "values": ["S", "M"]}, {"name": "Colour", "values": ["Blue"]}],
        variants=[
            {"option_values": {"Size": "S", "Colour": "Blue"}, "sku": "TEE-S", "stock": 2},
            {
                "option_values": {"Size": "M", "Colour": "Blue"},
                "sku": "TEE-M",
                "stock": 1,
                "price": Decimal("22.50"),
            },
        ],
        images=[{"url": "https://img.example/tee.jpg", "alt": "Tee"}],
    )
    assert isinstance(tee.variants[0], shopkit.types.Variant)
    assert (tee.price, tee.base_price, tee.stock, tee.in_stock) == (
        Decimal("20.00"),
        Decimal("20.00"),
        3,
        True,
    )
    assert tee.image_url == "https://img.example/tee.jpg" and tee.images[0].alt == "Tee"
    medium = tee.variant(Size="M", Colour="Blue")
    assert medium is not None and medium.price == Decimal("22.50")
    found = await shopper.products.list(option=["Size:M"])
    assert [p.name for p in found.items] == ["Tee"]

    with pytest.raises(shopkit.VariantRequiredError):
        await shopper.cart.add_item(tee.id)
    cart = await shopper.cart.add_item(tee.id, variant_id=medium.id, quantity=1)
    (line,) = cart.items
    assert (line.variant_id, line.sku, line.option_values, line.price) == (
        medium.id,
        "TEE-M",
        {"Size": "M", "Colour": "Blue"},
        Decimal("22.50"),
    )
    with pytest.raises(shopkit.InsufficientStockError):
        await shopper.cart.update_item(medium.id, quantity=2)

    with pytest.raises(shopkit.OptionValuesInvalidError):
        await admin_shop.products.variants.create(tee.id, option_values={"Size": "XL"})
    with pytest.raises(shopkit.DuplicateVariantError):
        await admin_shop.products.variants.create(
            tee.id, option_values={"Size": "S", "Colour": "Blue"}, sku="OTHER"
        )
    changed = await admin_shop.products.variants.update(tee.id, medium.id, stock=5, price=None)
    assert (changed.stock, changed.price) == (5, None)
    await admin_shop.products.variants.delete(tee.id, medium.id)
    with pytest.raises(shopkit.VariantNotFoundError):
        await admin_shop.products.variants.update(tee.id, "0" * 24, stock=1)
    again = await shopper.products.get(tee.id)
    assert again.stock == 2 and again.variant(Size="M", Colour="Blue").is_active is False  # type: ignore[union-attr]
    with pytest.raises(shopkit.VariantNotFoundError):
        await shopper.cart.add_item(tee.id, variant_id=medium.id)


async def test_update_sends_the_full_variant_list(
    admin_shop: AsyncShopClient, catalog: Catalog
) -> None:
    tee = await admin_shop.products.create(
        name="Tee",
        price="20.00",
        category="Audio",
        options=[{"name": "Size", "values": ["S", "M"]}],
        variants=[
            {"option_values": {"Size": "S"}, "sku": "TEE-S", "stock": 2},
            {"option_values": {"Size": "M"}, "sku": "TEE-M", "stock": 1},
        ],
    )
    small, medium = tee.variant(Size="S"), tee.variant(Size="M")
    assert small is not None and medium is not None
    after = await admin_shop.products.update(
        tee.id,
        options=[{"name": "Size", "values": ["S", "M", "L"]}],
        variants=[
            {"id": small.id, "stock": 4, "price": Decimal("18.50")},
            {"option_values": {"Size": "L"}, "sku": "TEE-L", "stock": 3},
        ],
    )
    large = after.variant(Size="L")
    assert large is not None and (large.sku, large.stock) == ("TEE-L", 3)
    assert after.variant(Size="M").is_active is False  # type: ignore[union-attr]
    assert (after.stock, after.price) == (7, Decimal("18.50"))
    with pytest.raises(shopkit.DuplicateVariantError):
        await admin_shop.products.update(
            tee.id, variants=[{"id": small.id}, {"option_values": {"Size": "S"}}]
        )
    with pytest.raises(shopkit.VariantNotFoundError):
        await admin_shop.products.update(tee.id, variants=[{"id": "0" * 24}])
