"""A plain sync script buys something from a real server (uvicorn on a socket, in a thread)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import uvicorn

import shopkit
from shopkit.types import Address
from shopkit_server.app import create_app
from shopkit_server.context import build_context
from shopkit_server.security import Role
from shopkit_server.settings import Settings
from shopkit_server.store import open_store
from tests.conftest import PASSWORD, TEST_SECRET
from tests.e2e.procs import free_port

ADMIN = "boss@example.com"


async def _create_admin(settings: Settings) -> None:
    store = await open_store(settings)
    try:
        ctx = build_context(settings, store, TEST_SECRET)
        await ctx.auth.create_user(email=ADMIN, password=PASSWORD, name="Boss", role=Role.ADMIN)
    finally:
        await store.close()


@pytest.fixture
def live_url(tmp_path: Path) -> Iterator[str]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'shop.db'}",
        jwt_secret_key=TEST_SECRET,
        bcrypt_rounds=4,
    )
    asyncio.run(_create_admin(settings))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings=settings),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/api"
    server.should_exit = True
    thread.join(10)


def test_a_plain_sync_script_buys_something(live_url: str) -> None:
    with shopkit.ShopClient(base_url=live_url) as admin:
        admin.auth.login(email=ADMIN, password=PASSWORD)
        admin.categories.create(name="Kitchen")
        kettle = admin.products.create(
            name="Electric Kettle", price=Decimal("35.00"), category="Kitchen", stock=3
        )

    with shopkit.ShopClient(base_url=live_url) as shop:
        shop.auth.register(
            email=f"ada-{uuid.uuid4().hex[:6]}@example.com", password=PASSWORD, name="Ada"
        )
        found = [p.id for p in shop.products.iterate(category="Kitchen", page_size=1)]
        assert found == [kettle.id]
        cart = shop.cart.add_item(kettle.id, quantity=2)
        assert cart.subtotal == Decimal("70.00")
        order = shop.orders.create(
            shipping_address=Address(
                full_name="Ada Lovelace",
                address_line1="12 St James's Sq",
                city="London",
                postal_code="SW1Y 4JH",
                country="GB",
                phone="+44 20 7946 0000",
            )
        )
        assert order.status == "pending"
        assert order.subtotal == Decimal("70.00") and order.total == Decimal("73.50")
        assert shop.products.get(kettle.id).stock == 1
        assert [o.id for o in shop.orders.iterate()] == [order.id]

        raw = shop.orders.with_raw_response.get(order.id)
        assert raw.status_code == 200 and raw.request_id and raw.parse().id == order.id

        # An access token the server refuses is refreshed once and the call replayed.
        shop._tokens.access_token = "not-a-valid-token"
        assert shop.auth.me().email.startswith("ada-")
        assert shop.access_token != "not-a-valid-token"

        with pytest.raises(shopkit.InsufficientStockError):
            shop.cart.add_item(kettle.id, quantity=5)
            shop.orders.create(shipping_address=order.shipping_address.model_dump())
