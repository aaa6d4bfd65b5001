"""In-memory stand-ins for the product service, as the cart and order services see it.

They implement the client protocols (``ProductsClient``, ``StockClient``) with the same
contract as the real service, so service logic can be tested without the catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from shopkit_server.ids import new_id
from shopkit_server.products.errors import InsufficientStock
from shopkit_server.products.models import Product, StockLine, Variant

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def make_product(
    price: str = "10.00", *, stock: int = 100, name: str = "Thing", active: bool = True
) -> Product:
    return Product(
        id=new_id(),
        sku=None,
        name=name,
        description="",
        price=Decimal(price),
        category="General",
        tags=[],
        image_url=None,
        stock=stock,
        is_active=active,
        is_featured=False,
        created_at=NOW,
        updated_at=NOW,
        variants=[Variant(id=new_id(), sku=None, option_values={}, stock=stock)],
    )


class FakeCatalog:
    """Products, stock and reservations held in memory."""

    def __init__(self, *products: Product) -> None:
        self.products = {p.id: p for p in products}
        self.reservations: dict[str, list[StockLine]] = {}
        self.released: set[str] = set()
        self.batch_calls = 0
        self.fail_next_release = False

    def add(self, product: Product) -> Product:
        self.products[product.id] = product
        return product

    def update(self, product_id: str, **changes: object) -> None:
        if "price" in changes:  # the product's own price (its one variant has none)
            changes["base_price"] = changes["price"]
        product = replace(self.products[product_id], **changes)  # type: ignore[arg-type]
        if "stock" in changes:  # one variant: its stock is the product's
            product = replace(product, variants=[replace(product.variants[0], stock=product.stock)])
        self.products[product_id] = product

    def stock(self, product_id: str) -> int:
        return self.products[product_id].stock

    # ProductsClient
    async def get_products(self, product_ids: Sequence[str]) -> dict[str, Product]:
        self.batch_calls += 1
        return {pid: self.products[pid] for pid in product_ids if pid in self.products}

    # StockClient
    async def reserve(self, reservation_id: str, lines: Sequence[StockLine]) -> None:
        if reservation_id in self.reservations:
            return
        short = [
            line.product_id
            for line in lines
            if line.product_id not in self.products
            or self.products[line.product_id].stock < line.quantity
        ]
        if short:
            raise InsufficientStock(short)
        for line in lines:
            self.update(line.product_id, stock=self.stock(line.product_id) - line.quantity)
        self.reservations[reservation_id] = list(lines)

    async def release(self, reservation_id: str) -> None:
        if self.fail_next_release:
            self.fail_next_release = False
            raise ConnectionError("catalog unreachable")
        if reservation_id in self.released or reservation_id not in self.reservations:
            return
        self.released.add(reservation_id)
        for line in self.reservations[reservation_id]:
            self.update(line.product_id, stock=self.stock(line.product_id) + line.quantity)
