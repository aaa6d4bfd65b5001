"""Fixtures of the SDK tests.

Mocked tests talk to respx at ``payloads.BASE``; live tests (``test_live_*.py``) drive the real
all-in-one app in process through ``httpx.ASGITransport``. No test ever sleeps: ``sleeps``
records the backoff delays the client asked for instead.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
import respx
from fastapi import FastAPI

from shopkit import AsyncShopClient, _base_client, _wire
from shopkit.types import Category, Product
from tests.conftest import PASSWORD, UserSession
from tests.sdk.payloads import BASE


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the client slept, in order (jitter pinned to 0: delays are exact)."""
    delays: list[float] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)

    monkeypatch.setattr(_base_client, "_sleep", record)
    monkeypatch.setattr(_wire, "_random", lambda: 0.0)
    return delays


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own SHOPKIT_* settings must not leak into what the tests see.
    monkeypatch.delenv("SHOPKIT_BASE_URL", raising=False)
    monkeypatch.delenv("SHOPKIT_ACCESS_TOKEN", raising=False)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def shop(api: respx.MockRouter) -> AsyncIterator[AsyncShopClient]:
    async with AsyncShopClient(base_url=BASE) as client:
        yield client


# -- live ---------------------------------------------------------------------------------


@pytest.fixture
async def asgi_http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test/api"
    ) as http:
        yield http


@pytest.fixture
async def anon(asgi_http: httpx.AsyncClient) -> AsyncIterator[AsyncShopClient]:
    """An SDK client on the live app, not logged in."""
    async with AsyncShopClient(http_client=asgi_http) as client:
        yield client


@pytest.fixture
async def shopper(asgi_http: httpx.AsyncClient) -> AsyncIterator[AsyncShopClient]:
    """A customer who registered through the SDK (the client holds their tokens)."""
    async with AsyncShopClient(http_client=asgi_http) as client:
        await client.auth.register(
            email=f"shopper-{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD, name="Shopper"
        )
        yield client


@pytest.fixture
async def admin_shop(
    asgi_http: httpx.AsyncClient, admin: UserSession
) -> AsyncIterator[AsyncShopClient]:
    """The ``admin`` fixture's user, logged in through the SDK."""
    async with AsyncShopClient(http_client=asgi_http) as client:
        await client.auth.login(email=admin.email, password=admin.password)
        yield client


@dataclass
class Catalog:
    """A small shop built through the SDK by an admin (ids by nickname)."""

    electronics: Category
    audio: Category
    kitchen: Category
    headphones: Product  # Audio, 99.99, stock 5, featured, tags audio+wireless
    speaker: Product  # Audio, 49.50, stock 0, tags audio
    cable: Product  # Electronics, 9.99, stock 100, tags cable
    kettle: Product  # Kitchen, 35.00, stock 3


@pytest.fixture
async def catalog(admin_shop: AsyncShopClient) -> Catalog:
    cats = admin_shop.categories
    electronics = await cats.create(name="Electronics", sort_order=1)
    audio = await cats.create(name="Audio", parent_id=electronics.id)
    kitchen = await cats.create(name="Kitchen", sort_order=2)
    create = admin_shop.products.create
    headphones = await create(
        name="Wireless Headphones",
        description="Noise-cancelling over-ear headphones",
        price=Decimal("99.99"),
        category="Audio",
        sku="HP-1",
        tags=["audio", "wireless"],
        stock=5,
        is_featured=True,
    )
    speaker = await create(
        name="Bookshelf Speaker",
        description="A small speaker",
        price=Decimal("49.50"),
        category="Audio",
        sku="SPK-1",
        tags=["audio"],
        stock=0,
    )
    cable = await create(
        name="USB-C Cable",
        description="Braided charging cable",
        price=Decimal("9.99"),
        category="Electronics",
        sku="CBL-1",
        tags=["cable"],
        stock=100,
    )
    kettle = await create(
        name="Electric Kettle",
        description="Boils water fast",
        price=Decimal("35.00"),
        category="Kitchen",
        sku="KTL-1",
        stock=3,
    )
    return Catalog(electronics, audio, kitchen, headphones, speaker, cable, kettle)
