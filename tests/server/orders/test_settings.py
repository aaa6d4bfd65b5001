"""Checkout money follows the settings (SHOPKIT_SHIPPING_FLAT, SHOPKIT_TAX_RATE)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopkit_server.settings import Settings
from tests.conftest import UserSession
from tests.server.cart.shop import Shop, add, checkout


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"shipping_flat": Decimal("4.99"), "tax_rate": Decimal("0.075")}
    )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_shipping_and_tax_rate_come_from_settings(
    customer: UserSession, admin: UserSession
) -> None:
    product = await Shop(admin.client).product("10.10")
    await add(customer.client, product["id"], 3)
    order = (await checkout(customer.client)).json()
    # 30.30 * 7.5% = 2.2725 -> 2.27; total 30.30 + 4.99 + 2.27.
    assert (order["subtotal"], order["shipping_cost"], order["tax"], order["total"]) == (
        30.3,
        4.99,
        2.27,
        37.56,
    )
