"""A small known catalog the product tests share (created through the service, on every store).

    Electronics (sort 1)              Kitchen (sort 2)
     ├── Audio (sort 1)                └── Coffee
     └── Phones (sort 2)

| product             | category    | price  | tags                      | stock | flags    |
| ------------------- | ----------- | ------ | ------------------------- | ----- | -------- |
| Wireless Headphones | Audio       | 99.99  | audio, wireless           | 5     | featured |
| Wired Earbuds       | Audio       | 19.50  | audio                     | 0     |          |
| Bluetooth Speaker   | Audio       | 49.00  | audio, wireless, outdoor  | 3     |          |
| Smartphone          | Phones      | 699.00 | wireless                  | 10    | featured |
| Phone Case          | Phones      | 15.00  | accessory                 | 100   |          |
| Television          | Electronics | 499.00 |                           | 2     |          |
| Coffee Grinder      | Coffee      | 129.00 | coffee                    | 7     | featured |
| French Press        | Coffee      | 35.00  | coffee                    | 0     |          |
| Old Radio           | Audio       | 25.00  | audio                     | 4     | inactive |

Products are created in table order, so "newest first" is the table read bottom-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import fastapi.routing
import pytest
from fastapi import FastAPI

from shopkit_server.products.models import Category, CategoryDraft, Product, ProductDraft
from shopkit_server.products.service import ProductService

ROWS: list[tuple[str, str, str, list[str], int, str]] = [
    ("Wireless Headphones", "Audio", "99.99", ["audio", "wireless"], 5, "featured"),
    ("Wired Earbuds", "Audio", "19.50", ["audio"], 0, ""),
    ("Bluetooth Speaker", "Audio", "49.00", ["audio", "wireless", "outdoor"], 3, ""),
    ("Smartphone", "Phones", "699.00", ["wireless"], 10, "featured"),
    ("Phone Case", "Phones", "15.00", ["accessory"], 100, ""),
    ("Television", "Electronics", "499.00", [], 2, ""),
    ("Coffee Grinder", "Coffee", "129.00", ["coffee"], 7, "featured"),
    ("French Press", "Coffee", "35.00", ["coffee"], 0, ""),
    ("Old Radio", "Audio", "25.00", ["audio"], 4, "inactive"),
]
DESCRIPTIONS = {
    "Smartphone": "Big screen, long battery, and a jack for your headphones.",
    "Wireless Headphones": "Over-ear, noise cancelling.",
}
ACTIVE = [name for name, *_, flags in ROWS if flags != "inactive"]
NEWEST_FIRST = list(reversed(ACTIVE))


@dataclass
class Catalog:
    categories: dict[str, Category] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)

    def id(self, name: str) -> str:
        return self.products[name].id


@pytest.fixture
def service(app: FastAPI) -> ProductService:
    products: ProductService = app.state.ctx.products
    return products


async def build_catalog(service: ProductService) -> Catalog:
    catalog = Catalog()
    tree = [
        ("Electronics", None, 1),
        ("Audio", "Electronics", 1),
        ("Phones", "Electronics", 2),
        ("Kitchen", None, 2),
        ("Coffee", "Kitchen", 1),
    ]
    for name, parent, order in tree:
        parent_id = catalog.categories[parent].id if parent else None
        catalog.categories[name] = await service.categories.create(
            CategoryDraft(name=name, parent_id=parent_id, sort_order=order)
        )
    for name, category, price, tags, stock, flags in ROWS:
        catalog.products[name] = await service.create_product(
            ProductDraft(
                name=name,
                category=category,
                price=Decimal(price),
                tags=tags,
                stock=stock,
                description=DESCRIPTIONS.get(name, ""),
                is_featured=flags == "featured",
                is_active=flags != "inactive",
                sku=name.upper().replace(" ", "-"),
            )
        )
    return catalog


@pytest.fixture
async def catalog(service: ProductService) -> Catalog:
    return await build_catalog(service)


@pytest.fixture
def solved(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """One entry per request whose dependencies were solved: by FastAPI, or from the route's
    plan (shopkit_server/solver.py), which calls them as FastAPI does."""
    from shopkit_server.solver import Solver

    calls: list[int] = []
    original = fastapi.routing.solve_dependencies
    planned = Solver._values

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return await original(*args, **kwargs)

    async def counting_plan(self: Solver, node: Any, *args: Any) -> Any:
        if node is self.root:  # once per request (the root's dependencies recurse)
            calls.append(1)
        return await planned(self, node, *args)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    monkeypatch.setattr(Solver, "_values", counting_plan)
    yield calls
