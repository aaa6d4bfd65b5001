"""Three products replicas sharing one PostgreSQL database behind the project's nginx.

Every process is a real ``shopkit serve --service NAME``; the products upstream of the gateway
has three servers, so admin writes and catalog reads are spread over them, and the cart and
orders services reserve stock through different replicas. Reservations sent at once to all
three replicas directly (each process with its own pool) never sell a unit twice.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest

from shopkit import AsyncShopClient, InsufficientStockError
from shopkit_server.ids import new_id
from shopkit_server.security import TokenCodec
from tests.conftest import POSTGRES_UNREACHABLE, POSTGRES_URL, _postgres_db_url
from tests.e2e.procs import SHOPKIT, free_port, start, stop, wait_healthy
from tests.e2e.test_gateway import ADDRESS, NGINX, REPO, SECRET, _start_nginx
from tests.server.test_postgres_races import race

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed"),
    pytest.mark.skipif(
        POSTGRES_UNREACHABLE is not None, reason=f"PostgreSQL unreachable: {POSTGRES_UNREACHABLE}"
    ),
]
REPLICAS = 3
POOL = 8  # connections per process
ADMIN_EMAIL, ADMIN_PASSWORD = "replicas@example.com", "admin password 1"


@dataclass
class Deployment:
    api: str
    replicas: list[str]
    database_url: str
    procs: list[Any] = field(default_factory=list)


def _admin_sql(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("replicas")
    db_name = f"shopkit_test_{uuid.uuid4().hex[:12]}"
    _admin_sql(f"CREATE DATABASE {db_name} ENCODING 'UTF8' TEMPLATE template0")
    ports = {name: free_port() for name in ("auth", "cart", "orders")}
    product_ports = [free_port() for _ in range(REPLICAS)]
    env = {
        "SHOPKIT_DATABASE_URL": _postgres_db_url(db_name),
        "SHOPKIT_JWT_SECRET_KEY": SECRET,
        "SHOPKIT_BCRYPT_ROUNDS": "4",
        "SHOPKIT_POSTGRES_POOL_SIZE": str(POOL),
        "SHOPKIT_AUTH_URL": f"http://127.0.0.1:{ports['auth']}",
    }
    procs = []
    nginx = None
    try:
        # Every replica migrates at start, all at once: the advisory lock lets one do it.
        for i, port in enumerate(product_ports):
            procs.append(
                start(
                    [*SHOPKIT, "serve", "--service", "products", "--port", str(port)],
                    env=env,
                    cwd=tmp,
                    log=tmp / f"products-{i}.log",
                )
            )
        for name, port in ports.items():
            # The cart and orders services each reserve through a different replica.
            products = product_ports[1 if name == "cart" else 2 if name == "orders" else 0]
            peer_env = env | {
                "SHOPKIT_PRODUCTS_URL": f"http://127.0.0.1:{products}",
                "SHOPKIT_CART_URL": f"http://127.0.0.1:{ports['cart']}",
                "SHOPKIT_ORDERS_URL": f"http://127.0.0.1:{ports['orders']}",
            }
            procs.append(
                start(
                    [*SHOPKIT, "serve", "--service", name, "--port", str(port)],
                    env=peer_env,
                    cwd=tmp,
                    log=tmp / f"{name}.log",
                )
            )
        urls = [f"http://127.0.0.1:{p}" for p in product_ports] + [
            f"http://127.0.0.1:{p}" for p in ports.values()
        ]
        for url, proc in zip(urls, procs, strict=True):
            wait_healthy(f"{url}/health", proc, timeout=60)
        created = subprocess.run(
            [
                *SHOPKIT,
                "users",
                "create-admin",
                "--email",
                ADMIN_EMAIL,
                "--password",
                ADMIN_PASSWORD,
            ],
            env={**os.environ, **env},
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stderr
        conf_dir = tmp / "gateway"
        conf_dir.mkdir()
        gateway_port = free_port()
        shipped = (REPO / "deploy" / "nginx.conf").read_text()
        (conf_dir / "nginx.conf").write_text(
            shipped.replace("listen 8000;", f"listen 127.0.0.1:{gateway_port};")
        )
        servers = " ".join(f"server 127.0.0.1:{p};" for p in product_ports)
        (conf_dir / "upstreams.conf").write_text(
            f"upstream shopkit_products {{ {servers} keepalive 16; }}\n"
            + "".join(
                f"upstream shopkit_{name} {{ server 127.0.0.1:{port}; keepalive 16; }}\n"
                for name, port in ports.items()
            )
        )
        nginx = _start_nginx(conf_dir)
        wait_healthy(f"http://127.0.0.1:{gateway_port}/health", nginx)
        yield Deployment(
            api=f"http://127.0.0.1:{gateway_port}/api",
            replicas=[f"http://127.0.0.1:{p}" for p in product_ports],
            database_url=env["SHOPKIT_DATABASE_URL"],
        )
    finally:
        if nginx is not None:
            stop(nginx)
        for proc in procs:
            stop(proc)
        _admin_sql(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


async def test_reservations_racing_over_three_replicas_never_oversell(
    deployment: Deployment,
) -> None:
    async with AsyncShopClient(base_url=deployment.api) as admin:
        await admin.auth.login(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        category = await admin.categories.create(name=f"Audio {uuid.uuid4().hex[:6]}")
        product = await admin.products.create(
            name="Wireless Headphones", price="99.99", category=category.name, stock=10
        )
        token = TokenCodec(SECRET).issue_service_token("orders")
        headers = {"Authorization": f"Bearer {token}"}
        clients = [httpx.AsyncClient(base_url=url, headers=headers) for url in deployment.replicas]
        try:
            body = [
                {"reservation_id": new_id(), "lines": [{"product_id": product.id, "quantity": 1}]}
                for _ in range(REPLICAS * POOL)
            ]
            # Proof of overlap: every replica's whole pool is in a transaction waiting at the
            # products table at once before any of them may go on.
            replies = await race(
                deployment.database_url,
                "products",
                [
                    clients[i % REPLICAS].post("/internal/stock/reservations", json=b, timeout=60)
                    for i, b in enumerate(body)
                ],
                waiting=REPLICAS * POOL,
            )
            assert Counter(r.status_code for r in replies) == {204: 10, 409: REPLICAS * POOL - 10}
            # Every replica reads the same stock from the shared database.
            async with httpx.AsyncClient() as anonymous:
                for url in deployment.replicas:
                    reply = await anonymous.get(f"{url}/products/{product.id}")
                    assert reply.status_code == 200, reply.text
                    assert reply.json()["stock"] == 0
        finally:
            for http in clients:
                await http.aclose()


async def test_checkouts_through_the_gateway_sell_each_unit_once(
    deployment: Deployment,
) -> None:
    async with AsyncShopClient(base_url=deployment.api) as admin:
        await admin.auth.login(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        category = await admin.categories.create(name=f"Kitchen {uuid.uuid4().hex[:6]}")
        product = await admin.products.create(
            name="Coffee Grinder", price="25.00", category=category.name, stock=3
        )
        buyers = [AsyncShopClient(base_url=deployment.api) for _ in range(6)]
        try:
            for buyer in buyers:
                await buyer.auth.register(
                    email=f"b-{uuid.uuid4().hex[:8]}@example.com",
                    password="pw customer 1",
                    name="B",
                )
                await buyer.cart.add_item(product.id, quantity=1)

            async def buy(buyer: AsyncShopClient) -> str:
                try:
                    await buyer.orders.create(shipping_address=ADDRESS)
                except InsufficientStockError:
                    return "sold out"
                return "ordered"

            outcomes = await asyncio.gather(*(buy(b) for b in buyers))
        finally:
            for buyer in buyers:
                await buyer.aclose()
        assert Counter(outcomes) == {"ordered": 3, "sold out": 3}
        assert (await admin.products.get(product.id)).stock == 0
