"""The app factory: health, error rendering, CORS, prefixes."""

from __future__ import annotations

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from shopkit_server.app import create_app
from shopkit_server.settings import Settings
from shopkit_server.store import Store

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@sqlite_only
async def test_health_is_503_degraded_when_the_store_does_not_answer(
    app: FastAPI, store: Store
) -> None:
    async with _client(app) as client:
        ok = await client.get("/api/health")
        assert ok.status_code == 200 and ok.json()["database"] == "ok"

        async def broken() -> None:
            raise OSError("disk on fire at /var/lib/secret")

        store.ping = broken
        reply = await client.get("/health")
    assert reply.status_code == 503
    assert reply.json()["status"] == "degraded" and reply.json()["database"] == "unavailable"
    assert "secret" not in reply.text


@sqlite_only
async def test_a_crash_is_a_bare_500_with_the_request_id(app: FastAPI) -> None:
    async def boom() -> None:
        raise RuntimeError("password_hash=$2b$12$leak in /srv/shop.py")

    app.add_api_route("/api/boom", boom)
    async with _client(app) as client:
        reply = await client.get("/api/boom", headers={"X-Request-ID": "crash-1"})
    assert reply.status_code == 500
    assert reply.json() == {"detail": "Internal server error.", "code": "internal_error"}
    assert reply.headers["x-request-id"] == "crash-1"
    assert "leak" not in reply.text


@sqlite_only
async def test_unknown_routes_and_methods_use_the_error_shape(app: FastAPI) -> None:
    async with _client(app) as client:
        missing = await client.get("/api/nothing-here")
        wrong_method = await client.put("/api/auth/me")
        hostile_id = await client.get("/api/health", headers={"X-Request-ID": "a\nb"})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"
    assert hostile_id.headers["x-request-id"] != "a\nb"  # unsafe ids are replaced


@sqlite_only
async def test_cors_origins_come_from_settings(settings: Settings, store: Store) -> None:
    configured = settings.model_copy(update={"cors_origins": ["https://shop.example"]})
    app = create_app(settings=configured, store=store)
    async with LifespanManager(app), _client(app) as client:
        allowed = await client.options(
            "/api/products",
            headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"},
        )
        refused = await client.get("/api/health", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "access-control-allow-origin" not in refused.headers


@sqlite_only
async def test_one_service_mode_has_no_prefix(settings: Settings, store: Store) -> None:
    app = create_app(["auth"], settings, store=store)
    async with LifespanManager(app), _client(app) as client:
        assert (await client.get("/health")).json()["service"] == "auth"
        assert (await client.get("/auth/me")).status_code == 401
        assert (await client.get("/api/auth/me")).status_code == 404
        assert (await client.get("/products")).status_code == 404


def test_settings_refuse_bad_values() -> None:
    from pydantic import ValidationError

    for bad in (
        {"database_url": "mysql://x"},
        {"database_url": "postgresql:///shopkit"},  # no host
        {"database_url": "sqlite:///"},
        {"jwt_secret_key": "changeme"},
        {"jwt_secret_key": "short"},
        {"products_url": "ftp://x"},
        {"tax_rate": "-0.1"},
    ):
        with pytest.raises(ValidationError):
            Settings(_env_file=None, **bad)  # type: ignore[call-arg, arg-type]
    for url in ("postgresql://shop@db:5432/shopkit", "postgres://db/shopkit"):
        assert Settings(_env_file=None, database_url=url).is_postgres  # type: ignore[call-arg]
    parsed = Settings(_env_file=None, cors_origins="https://a.example, https://b.example")  # type: ignore[call-arg, arg-type]
    assert parsed.cors_origins == ["https://a.example", "https://b.example"]


@sqlite_only
async def test_a_405_allows_every_method_of_the_path(app: FastAPI) -> None:
    async with _client(app) as client:
        cart = await client.put("/api/cart")  # GET and DELETE are two routes of one path
        item = await client.get("/api/cart/items/" + "a" * 24)
        order = await client.delete("/api/orders")
    assert cart.status_code == 405 and cart.json()["code"] == "method_not_allowed"
    assert cart.headers["allow"] == "DELETE, GET"
    assert item.headers["allow"] == "DELETE, PATCH"
    assert order.headers["allow"] == "GET, POST"


@sqlite_only
@pytest.mark.parametrize("service", ["auth", "products", "cart", "orders"])
async def test_every_health_path_of_the_gateway_answers_all_in_one(
    app: FastAPI, store: Store, service: str
) -> None:
    async with _client(app) as client:
        ok = await client.get(f"/api/{service}/health")
        assert ok.status_code == 200, ok.text
        assert ok.json()["status"] == "ok" and ok.json()["service"] == "shopkit"

        async def broken() -> None:
            raise OSError("store down")

        store.ping = broken  # never answered from the catalog read cache either
        down = await client.get(f"/api/{service}/health")
    assert down.status_code == 503 and down.json()["database"] == "unavailable"
