"""The services apart, in one test process: one app per service, calling each other over HTTP.

Each app is the real one-service app (``create_app([service])``); the httpx client it uses for
peer calls routes each peer URL to that peer's ASGI app, through a :class:`Tap` that records
every request and can fail some on purpose (a lost reply, a 500, garbage).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from shopkit_server.app import create_app
from shopkit_server.ids import new_id
from shopkit_server.security import Role, TokenCodec
from shopkit_server.settings import ServiceName, Settings
from shopkit_server.store import Store
from tests.conftest import TEST_SECRET

PRODUCTS_URL = "http://products.peer"
CART_URL = "http://cart.peer"
CODEC = TokenCodec(TEST_SECRET)

# Given a request the tap saw, answer instead of the peer (or None to let it through).
Fault = Callable[[httpx.Request], Awaitable[httpx.Response | None]]


@dataclass
class Tap(httpx.AsyncBaseTransport):
    """Passes requests to a peer app, records them, and lets a test inject failures."""

    inner: httpx.AsyncBaseTransport
    seen: list[httpx.Request] = field(default_factory=list)
    fault: Fault | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if self.fault is not None:
            reply = await self.fault(request)
            if reply is not None:
                return reply
        # In a task of its own, like a real peer in another process: the peer's request-log
        # middleware binds and unbinds its own request id in a copy of the context, not ours.
        return await asyncio.create_task(self.inner.handle_async_request(request))

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.seen]


@dataclass
class Apart:
    products: FastAPI
    cart: FastAPI
    orders: FastAPI
    to_products: Tap  # what the cart and order services send to the product service
    to_cart: Tap  # what the order service sends to the cart service
    admin_token: str  # an access token of a real admin account in the shared store

    async def customer(self) -> tuple[str, str]:
        """A real customer account in the shared store: ``(user id, access token)``.

        State-changing customer routes check the live account, so the customer must exist.
        """
        user = await self.products.state.ctx.auth.create_user(
            email=f"shopper-{uuid.uuid4().hex[:8]}@example.com",
            password="shopper password",
            name="Shopper",
        )
        return user.id, user_token(Role.CUSTOMER, user.id)

    def client(
        self, app: FastAPI, token: str | None = None, *, expect_500: bool = False
    ) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # ``expect_500``: answer an unhandled error with the app's 500, as a server would.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=not expect_500)
        return httpx.AsyncClient(transport=transport, base_url="http://svc", headers=headers)


def user_token(role: Role = Role.CUSTOMER, user_id: str | None = None) -> str:
    return CODEC.issue(user_id or new_id(), role).access_token


def service_token(service: str = "orders") -> str:
    return CODEC.issue_service_token(service)


@asynccontextmanager
async def services_apart(
    settings: Settings, store: Store, *, orders_store: Store | None = None, **overrides: Any
) -> AsyncIterator[Apart]:
    """Products, cart and orders as three apps over one store, peers called over HTTP."""
    peer_settings = settings.model_copy(
        update={"products_url": PRODUCTS_URL, "cart_url": CART_URL, **overrides}
    )
    async with AsyncExitStack() as stack:
        products = create_app([ServiceName.PRODUCTS], peer_settings, store=store)
        await stack.enter_async_context(LifespanManager(products))
        to_products = Tap(httpx.ASGITransport(app=products))
        cart_http = await stack.enter_async_context(
            httpx.AsyncClient(mounts={PRODUCTS_URL: to_products})
        )
        cart = create_app([ServiceName.CART], peer_settings, store=store, http=cart_http)
        await stack.enter_async_context(LifespanManager(cart))
        to_cart = Tap(httpx.ASGITransport(app=cart))
        orders_http = await stack.enter_async_context(
            httpx.AsyncClient(mounts={PRODUCTS_URL: to_products, CART_URL: to_cart})
        )
        orders = create_app(
            [ServiceName.ORDERS], peer_settings, store=orders_store or store, http=orders_http
        )
        await stack.enter_async_context(LifespanManager(orders))
        # Admin powers are checked against the live account, so the admin must really exist.
        admin = await products.state.ctx.auth.create_user(
            email=f"admin-{uuid.uuid4().hex[:8]}@example.com",
            password="admin password",
            name="Admin",
            role=Role.ADMIN,
        )
        admin_token = user_token(Role.ADMIN, admin.id)
        yield Apart(products, cart, orders, to_products, to_cart, admin_token)


async def make_product(
    apart: Apart, *, stock: int = 10, price: str = "19.99", active: bool = True
) -> dict[str, Any]:
    """A product created through the product service's admin API."""
    async with apart.client(apart.products, apart.admin_token) as admin:
        category = f"Cat {uuid.uuid4().hex[:8]}"
        reply = await admin.post("/categories", json={"name": category})
        assert reply.status_code == 201, reply.text
        reply = await admin.post(
            "/products",
            json={
                "name": f"Thing {uuid.uuid4().hex[:6]}",
                "price": price,
                "category": category,
                "stock": stock,
                "is_active": active,
            },
        )
        assert reply.status_code == 201, reply.text
        body: dict[str, Any] = reply.json()
        return body


async def stock_of(apart: Apart, product_id: str) -> int:
    async with apart.client(apart.products, apart.admin_token) as admin:
        reply = await admin.get(f"/products/{product_id}", params={"include_inactive": "true"})
        assert reply.status_code == 200, reply.text
        return int(reply.json()["stock"])
