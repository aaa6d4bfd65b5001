"""The demo catalog (``shopkit serve --demo``) and the product service run on its own."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from shopkit_cli import catalog as cli_catalog
from shopkit_server import demo
from shopkit_server.app import create_app
from shopkit_server.demo import (
    DemoCatalogError,
    default_catalog_path,
    load_demo_catalog,
    read_catalog,
)
from shopkit_server.settings import ServiceName, Settings
from shopkit_server.store import Store

CATALOG = json.loads(
    Path(__file__).resolve().parents[3].joinpath("examples", "catalog.json").read_text()
)


def test_the_example_catalog_is_realistic() -> None:
    products = CATALOG["products"]
    assert len(products) >= 60
    assert len({p["sku"] for p in products}) == len(products)
    assert all(node["children"] for node in CATALOG["categories"])  # two levels
    assert any(p.get("is_featured") for p in products)
    assert any(p.get("stock") == 0 for p in products)
    # Sizes and colours: a T-shirt in S/M/L x two colours with different stock, shoes in sizes.
    tee = next(p for p in products if p["sku"] == "CLO-TEE")
    assert [len(o["values"]) for o in tee["options"]] == [3, 2] and len(tee["variants"]) == 6
    assert len({v["stock"] for v in tee["variants"]}) > 1
    shoes = next(p for p in products if p["sku"] == "SHO-RUN")
    assert [o["name"] for o in shoes["options"]] == ["Size"] and len(shoes["variants"]) >= 5
    assert all(p["tags"] for p in products)
    assert default_catalog_path().name in ("catalog.json", "demo_catalog.json")


async def test_demo_loads_once_into_an_empty_store(
    app: FastAPI, client: httpx.AsyncClient, backend: str
) -> None:
    ctx = app.state.ctx
    created = await load_demo_catalog(ctx)
    assert created == len(CATALOG["products"])
    assert await load_demo_catalog(ctx) == 0  # the store has products now: nothing changes

    listing = (await client.get("/products", params={"page_size": 100})).json()
    assert listing["total"] == created
    # Newest first reads like the file (one import: the same instant, insertion order).
    assert [p["sku"] for p in listing["items"]] == [p["sku"] for p in CATALOG["products"]]
    tree = (await client.get("/categories", params={"tree": "true"})).json()
    assert [node["name"] for node in tree] == [c["name"] for c in CATALOG["categories"]]
    assert [child["name"] for child in tree[0]["children"]] == [
        c["name"] for c in CATALOG["categories"][0]["children"]
    ]
    electronics = (await client.get("/products", params={"category": "Electronics"})).json()
    assert electronics["total"] == sum(
        p["category"] in {c["name"] for c in CATALOG["categories"][0]["children"]}
        for p in CATALOG["products"]
    )
    featured = (await client.get("/products/featured")).json()
    assert featured["total"] == sum(p.get("is_featured", False) for p in CATALOG["products"])
    tee = next(p for p in listing["items"] if p["sku"] == "CLO-TEE")
    assert len(tee["variants"]) == 6 and tee["stock"] == sum(
        v["stock"]
        for v in next(p for p in CATALOG["products"] if p["sku"] == "CLO-TEE")["variants"]
    )
    if backend in ("sqlite", "postgres"):
        found = (await client.get("/products/search", params={"q": "headphones"})).json()
        named = [p["name"] for p in CATALOG["products"] if "Headphones" in p["name"]]
        assert len(named) == 2
        assert {item["name"] for item in found["items"][:2]} == set(named)


def test_demo_and_seed_read_the_file_the_same_way() -> None:
    """One reader of the catalog format: ``serve --demo`` and ``shopkit seed`` get the same
    category tree and the same product rows (exact Decimal prices) from the same file."""
    path = Path(__file__).resolve().parents[3] / "examples" / "catalog.json"
    served, seeded = read_catalog(path), cli_catalog.read(path)
    assert served == seeded
    assert [c.name for c in served.categories if c.parent is None] == [
        c["name"] for c in CATALOG["categories"]
    ]
    assert len(served.rows) == len(CATALOG["products"])
    assert all(isinstance(row.fields["price"], Decimal) for row in served.rows)
    # demo.py parses nothing itself: no JSON of its own, no walk of the category tree.
    source = Path(demo.__file__).read_text()
    assert "loads" not in source and "import json" not in source and "wire" not in source
    assert "children" not in source


async def test_demo_creates_a_product_category_path(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A category path (``Home > Lamps``) means in a demo file what it means to ``seed``."""
    file = tmp_path / "catalog.json"
    file.write_text(
        json.dumps(
            {"products": [{"sku": "L-1", "name": "Lamp", "price": 0.1, "category": "Home > Lamps"}]}
        )
    )
    assert await load_demo_catalog(app.state.ctx, file) == 1
    tree = (await client.get("/categories", params={"tree": "true"})).json()
    assert [(n["name"], [c["name"] for c in n["children"]]) for n in tree] == [("Home", ["Lamps"])]
    [lamp] = (await client.get("/products")).json()["items"]
    assert lamp["category"] == "Lamps"


async def test_demo_refuses_a_broken_file(app: FastAPI, tmp_path: Path) -> None:
    broken = tmp_path / "catalog.json"
    broken.write_text(
        json.dumps(
            {
                "categories": [{"name": "A", "children": []}],
                "products": [{"name": "X", "price": "1.001", "category": "A"}],
            }
        )
    )
    with pytest.raises(DemoCatalogError, match="product 0"):
        await load_demo_catalog(app.state.ctx, broken)
    with pytest.raises(DemoCatalogError):
        await load_demo_catalog(app.state.ctx, tmp_path / "missing.json")
    # The whole file is checked before anything is written: no category was created.
    assert await app.state.ctx.products.categories.find("A") is None


async def test_products_service_alone_has_no_prefix(settings: Settings, store: Store) -> None:
    alone = create_app(services=[ServiceName.PRODUCTS], settings=settings, store=store)
    async with LifespanManager(alone) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://products") as client:
            await load_demo_catalog(alone.state.ctx)
            assert (await client.get("/products")).json()["total"] == len(CATALOG["products"])
            assert len((await client.get("/categories")).json()) > 5
            assert (await client.get("/api/products")).status_code == 404
