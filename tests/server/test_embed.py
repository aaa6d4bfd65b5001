"""Shopkit's services inside a host FastAPI app: included routers and a mounted sub-app."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from shopkit_server.app import create_app
from shopkit_server.embed import NotStarted, Shop
from shopkit_server.products.models import CategoryDraft, ProductDraft
from shopkit_server.products.router import router as products_router
from shopkit_server.security import Role
from shopkit_server.settings import Settings
from shopkit_server.store import Store

SERVICES = ["products", "cart"]


def _host() -> FastAPI:
    app = FastAPI()

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app


async def _seed(shop: Shop) -> tuple[str, str, str]:
    """A product with stock, an admin and a customer; returns (product id, admin, customer)."""
    ctx = shop.ctx
    await ctx.products.categories.create(CategoryDraft(name="Audio"))
    product = await ctx.products.create_product(
        ProductDraft(name="Headphones", price=Decimal("99.99"), category="Audio", stock=5)
    )
    admin = await ctx.auth.create_user(
        email="boss@example.com", password="admin password 1", name="Boss", role=Role.ADMIN
    )
    admin_token = ctx.tokens.issue(admin.id, Role.ADMIN).access_token
    customer = await ctx.auth.create_user(
        email="shopper@example.com", password="shopper password", name="Shopper"
    )
    customer_token = ctx.tokens.issue(customer.id, Role.CUSTOMER).access_token
    return product.id, admin_token, customer_token


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://host")


@pytest.fixture
async def included(settings: Settings, store: Store) -> AsyncIterator[tuple[FastAPI, Shop]]:
    app = _host()
    shop = Shop(SERVICES, settings, store=store)
    shop.include_in(app, prefix="/shop")
    async with LifespanManager(app):
        yield app, shop


async def test_included_routers_serve_beside_the_host_routes(
    included: tuple[FastAPI, Shop],
) -> None:
    app, shop = included
    product_id, admin, customer = await _seed(shop)
    async with _client(app) as http:
        assert (await http.get("/hello")).json() == {"hello": "world"}
        listed = await http.get("/shop/products")
        assert listed.status_code == 200, listed.text
        assert [p["id"] for p in listed.json()["items"]] == [product_id]
        assert '"price":99.99' in listed.text.replace(" ", "")  # exact money
        created = await http.post(
            "/shop/products",
            json={"name": "Speaker", "price": "49.00", "category": "Audio", "stock": 2},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert created.status_code == 201, created.text
        added = await http.post(
            "/shop/cart/items",
            json={"product_id": product_id, "quantity": 2},
            headers={"Authorization": f"Bearer {customer}"},
        )
        assert added.status_code in (200, 201), added.text
        cart = await http.get("/shop/cart", headers={"Authorization": f"Bearer {customer}"})
        assert cart.json()["items"][0]["quantity"] == 2
        health = await http.get("/shop/health")
        assert health.status_code == 200 and health.json()["service"] == "products+cart"
        # Nothing leaks outside the prefix.
        assert (await http.get("/products")).status_code == 404


async def test_included_routes_keep_shopkit_error_bodies(included: tuple[FastAPI, Shop]) -> None:
    app, shop = included
    _, _, customer = await _seed(shop)
    async with _client(app) as http:
        missing = await http.get("/shop/products/nope")
        assert missing.status_code == 404
        assert missing.json()["code"] == "product_not_found"
        anonymous = await http.get("/shop/cart")
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
        bad = await http.post(
            "/shop/cart/items",
            json={"product_id": "x", "quantity": "lots"},
            headers={"Authorization": f"Bearer {customer}"},
        )
        assert bad.status_code == 422
        assert bad.json()["code"] == "validation_error"
        assert "input" not in bad.json()["detail"][0]  # FastAPI's default handler echoes it


async def test_include_chains_the_shop_lifespan_onto_the_host(
    settings: Settings, store: Store
) -> None:
    app = _host()
    opened: list[str] = []

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def host_life(_: FastAPI) -> AsyncIterator[dict[str, str]]:
        opened.append("host")
        yield {"greeting": "hi"}

    app.router.lifespan_context = host_life
    shop = Shop(SERVICES, settings, store=store)
    shop.include_in(app, prefix="/shop")
    with pytest.raises(NotStarted):
        _ = shop.ctx
    async with LifespanManager(app) as manager:
        assert shop.started and opened == ["host"]
        assert manager._state == {"greeting": "hi"}  # the host's own lifespan state survives
    assert not shop.started


async def test_plain_include_router_says_how_to_embed(settings: Settings) -> None:
    app = _host()
    app.include_router(products_router)
    async with _client(app) as http:
        with pytest.raises(RuntimeError, match=r"Shop\.include_in"):
            await http.get("/products")


async def test_mounted_app_starts_on_its_first_request(settings: Settings, store: Store) -> None:
    app = _host()
    sub = create_app(services=SERVICES, settings=settings, store=store)
    app.mount("/shop", sub)
    async with LifespanManager(app), _client(app) as http:  # the host's lifespan only
        listed = await http.get("/shop/products")
        assert listed.status_code == 200, listed.text
        assert listed.json()["total"] == 0
        assert (await http.get("/shop/health")).json()["database"] == "ok"
        assert (await http.get("/hello")).status_code == 200
        assert listed.headers["x-request-id"]


async def test_mount_in_opens_and_closes_the_store_with_the_host(
    settings: Settings, tmp_path: Path, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("the shop opens its own store from the settings: sqlite shows it")
    app = _host()
    shop = Shop(SERVICES, settings)
    shop.mount_in(app, "/shop")
    async with LifespanManager(app):
        assert shop.started
        product_id, _, customer = await _seed(shop)
        async with _client(app) as http:
            got = await http.get(f"/shop/products/{product_id}")
            assert got.status_code == 200 and got.json()["name"] == "Headphones"
            added = await http.post(
                "/shop/cart/items",
                json={"product_id": product_id, "quantity": 1},
                headers={"Authorization": f"Bearer {customer}"},
            )
            assert added.status_code in (200, 201), added.text
    assert not shop.started


def test_an_error_in_a_mounted_app_logs_one_short_traceback(tmp_path: Path) -> None:
    """No logging set up by anyone (as under a host app): one plain traceback, no locals."""
    script = textwrap.dedent(
        f"""
        import asyncio, httpx
        from fastapi import FastAPI
        from shopkit_server.app import create_app
        from shopkit_server.settings import Settings

        settings = Settings(_env_file=None, database_url="sqlite:///{tmp_path}/s.db",
                            jwt_secret_key="k" * 40, catalog_cache_seconds=0)
        host = FastAPI()
        sub = create_app(services=["products"], settings=settings)
        host.mount("/shop", sub)

        async def main():
            transport = httpx.ASGITransport(app=host)
            async with httpx.AsyncClient(transport=transport, base_url="http://h") as http:
                assert (await http.get("/shop/products")).status_code == 200
                async def broken(*a, **k):
                    raise RuntimeError("the disk is on fire")
                sub.state.ctx.products.list_products = broken
                reply = await http.get("/shop/products")
                assert reply.status_code == 500, reply.status_code
                assert reply.json() == {{"detail": "Internal server error.",
                                         "code": "internal_error"}}
        asyncio.run(main())
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-3000:]
    output = run.stdout + run.stderr
    assert output.count("Traceback (most recent call last)") == 1, output[-3000:]
    assert "RuntimeError: the disk is on fire" in output
    assert len(output.splitlines()) < 80, len(output.splitlines())


async def test_included_shop_caches_its_catalog_and_serves_its_own_offline_docs(
    included: tuple[FastAPI, Shop],
) -> None:
    app, shop = included
    await _seed(shop)
    async with _client(app) as http:
        listed = await http.get("/shop/products")
        assert listed.headers["cache-control"] == "public, max-age=10"
        again = await http.get("/shop/products", headers={"If-None-Match": listed.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        health = await http.get("/shop/health")  # never cacheable, though under the shop
        assert (
            health.headers["cache-control"] == "private, no-store" and "etag" not in health.headers
        )
        hello = await http.get("/hello")  # the host's own routes are left alone
        assert "cache-control" not in hello.headers and "etag" not in hello.headers
        document = (await http.get("/shop/openapi.json")).json()
        ops = {op["operationId"] for path in document["paths"].values() for op in path.values()}
        assert {"list_products", "add_cart_item", "get_health"} <= ops
        assert "hello" not in ops and not any("/internal" in p for p in document["paths"])
        assert document["paths"]["/shop/products"]["get"]["security"] == [{}, {"bearer": []}]
        page = await http.get("/shop/docs")
        assert "/shop/docs-assets/swagger-ui-bundle.js" in page.text
        assert "/shop/openapi.json" in page.text and "cdn" not in page.text.lower()
        asset = await http.get("/shop/docs-assets/swagger-ui-bundle.js")
        assert asset.status_code == 200 and "max-age=86400" in asset.headers["cache-control"]
        # The host's own document names the shop's operations by their stable ids too.
        host_ops = {
            op["operationId"] for path in app.openapi()["paths"].values() for op in path.values()
        }
        assert {"list_products", "add_cart_item"} <= host_ops


async def test_a_host_dependency_guards_every_included_read(
    settings: Settings, store: Store
) -> None:
    """No fast path and no read cache may answer before the host's own dependencies run."""
    from fastapi import Depends, Header, HTTPException

    async def need_api_key(x_api_key: str | None = Header(default=None)) -> None:
        if x_api_key != "sesame":
            raise HTTPException(status_code=401, detail="API key required")

    app = FastAPI(dependencies=[Depends(need_api_key)])
    shop = Shop(SERVICES, settings, store=store)
    shop.include_in(app, prefix="/shop")
    async with LifespanManager(app):
        product_id, _, _ = await _seed(shop)
        async with _client(app) as http:
            for path in ("/shop/products", f"/shop/products/{product_id}"):
                ok = await http.get(path, headers={"X-API-Key": "sesame"})
                assert ok.status_code == 200, path
                # The same plain read again, now without the key: never served past the host.
                assert (await http.get(path)).status_code == 401, path


async def test_catalog_responses_keep_cors_vary_and_a_mounted_shop_keeps_its_etags(
    settings: Settings, store: Store
) -> None:
    cors = settings.model_copy(update={"cors_origins": ["https://a.example"]})
    shop = Shop(SERVICES, cors, store=store)
    app = _host()
    shop.mount_in(app, "/shop")
    async with LifespanManager(app):
        await _seed(shop)
        async with _client(app) as http:
            listed = await http.get("/shop/products", headers={"Origin": "https://a.example"})
            assert listed.status_code == 200
            vary = {part.strip().lower() for part in listed.headers["vary"].split(",")}
            assert {"origin", "authorization", "accept-encoding"} <= vary
            assert listed.headers["cache-control"] == "public, max-age=10"
            again = await http.get(
                "/shop/products", headers={"If-None-Match": listed.headers["etag"]}
            )
            assert again.status_code == 304
