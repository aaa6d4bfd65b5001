"""Order service logic (no HTTP, no database driver)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shopkit_server.orders.repository import OrderRepository


class OrderService:
    def __init__(
        self,
        *,
        orders: OrderRepository,
        cart: Any,
        products: Any,
        stock: Any,
        tax_rate: Decimal,
        shipping_flat: Decimal,
    ) -> None:
        self.orders = orders
        self.cart = cart
        self.products = products
        self.stock = stock
        self.tax_rate = tax_rate
        self.shipping_flat = shipping_flat
