"""The seed's deployment for real: four one-service processes behind the project's nginx.

Each service is its own ``shopkit serve --service NAME`` process on a free port, calling its
peers over HTTP; they share one SQLite file (WAL lets several processes use it). A real nginx
runs ``deploy/nginx.conf`` with an ``upstreams.conf`` written for those ports, and the SDK
talks to the gateway only. Skipped, with the reason shown, only where nginx is not installed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from shopkit import AsyncShopClient, InsufficientStockError
from shopkit.types import Address
from shopkit_server.ids import new_id
from shopkit_server.security import TokenCodec
from tests.e2e.procs import SHOPKIT, free_port, start, stop, wait_for_log, wait_healthy

REPO = Path(__file__).resolve().parents[2]
SECRET = "gateway-suite-secret-" + "z" * 40
UPSTREAM_TIMEOUT = 1.5
SERVICES = ("auth", "products", "cart", "orders")
ADMIN_EMAIL, ADMIN_PASSWORD = "boss@example.com", "admin password 1"
ADDRESS = Address(
    full_name="Ayesha Khan",
    address_line1="12 Clifton Rd",
    city="Karachi",
    postal_code="75500",
    country="PK",
    phone="+92 300 1234567",
)


def _nginx() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


NGINX = _nginx()
pytestmark = pytest.mark.skipif(
    NGINX is None,
    reason="nginx is not installed (.ci/run installs it with apt-get); "
    "the gateway suite needs a real one",
)


@dataclass
class Cluster:
    tmp: Path
    env: dict[str, str]
    ports: dict[str, int]
    procs: dict[str, subprocess.Popen[bytes]]
    gateway_port: int

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}/api"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, service: str) -> subprocess.Popen[bytes]:
        proc = start(
            [*SHOPKIT, "serve", "--service", service, "--port", str(self.ports[service])],
            env=self.env,
            cwd=self.tmp,
            log=self.tmp / f"{service}.log",
        )
        self.procs[service] = proc
        return proc

    def stop(self, service: str) -> None:
        stop(self.procs[service])


def _env(tmp: Path, ports: dict[str, int]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKIT_")}
    env |= {
        "SHOPKIT_DATABASE_URL": f"sqlite:///{tmp / 'shop.db'}",
        "SHOPKIT_JWT_SECRET_KEY": SECRET,
        "SHOPKIT_BCRYPT_ROUNDS": "4",
        "SHOPKIT_UPSTREAM_TIMEOUT": str(UPSTREAM_TIMEOUT),
        "SHOPKIT_LOG_JSON": "true",
    }
    for service, port in ports.items():
        env[f"SHOPKIT_{service.upper()}_URL"] = f"http://127.0.0.1:{port}"
    return env


def _render_gateway(tmp: Path, ports: dict[str, int], gateway_port: int) -> Path:
    """deploy/nginx.conf as shipped, listening on ``gateway_port``, upstreams on our ports."""
    conf_dir = tmp / "gateway"
    conf_dir.mkdir()
    shipped = (REPO / "deploy" / "nginx.conf").read_text()
    assert "listen 8000;" in shipped
    (conf_dir / "nginx.conf").write_text(
        shipped.replace("listen 8000;", f"listen 127.0.0.1:{gateway_port};")
    )
    (conf_dir / "upstreams.conf").write_text(
        "".join(
            f"upstream shopkit_{name} {{ server 127.0.0.1:{port}; keepalive 16; }}\n"
            for name, port in ports.items()
        )
    )
    return conf_dir


def _start_nginx(conf_dir: Path) -> subprocess.Popen[bytes]:
    assert NGINX is not None
    directives = f"daemon off; pid {conf_dir / 'nginx.pid'};"
    if os.geteuid() == 0:  # workers would otherwise run as nobody, locked out of the temp dir
        directives += " user root;"
    check = subprocess.run(
        [NGINX, "-t", "-p", str(conf_dir), "-c", "nginx.conf", "-g", directives],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 0, check.stderr
    return subprocess.Popen(
        [NGINX, "-p", str(conf_dir), "-c", "nginx.conf", "-g", directives],
        stdout=subprocess.DEVNULL,
        stderr=open(conf_dir / "nginx.log", "wb"),
        start_new_session=True,
    )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("gateway")
    ports = {service: free_port() for service in SERVICES}
    env = _env(tmp, ports)
    created = subprocess.run(
        [*SHOPKIT, "users", "create-admin", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD],
        env=env,
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    running = Cluster(tmp, env, ports, {}, free_port())
    nginx: subprocess.Popen[bytes] | None = None
    try:
        for service in SERVICES:
            running.start(service)
        for service in SERVICES:
            wait_healthy(f"{running.url(service)}/health", running.procs[service])
        nginx = _start_nginx(_render_gateway(tmp, ports, running.gateway_port))
        wait_healthy(f"http://127.0.0.1:{running.gateway_port}/health", nginx)
        yield running
    finally:
        if nginx is not None:
            stop(nginx)
        for proc in running.procs.values():
            stop(proc)


def _register(api: str) -> str:
    """A new customer's access token."""
    reply = httpx.post(
        f"{api}/auth/register",
        json={
            "email": f"c-{uuid.uuid4().hex[:8]}@example.com",
            "password": "customer pw 1",
            "name": "Customer",
        },
    )
    assert reply.status_code == 201, reply.text
    token: str = reply.json()["tokens"]["access_token"]
    return token


async def _product(admin: AsyncShopClient, *, stock: int, price: str = "99.99") -> str:
    category = await admin.categories.create(name=f"Audio {uuid.uuid4().hex[:6]}")
    product = await admin.products.create(
        name="Wireless Headphones", price=price, category=category.name, stock=stock
    )
    return product.id


@pytest.fixture
async def admin(cluster: Cluster) -> AsyncIterator[AsyncShopClient]:
    async with AsyncShopClient(base_url=cluster.api) as shop:
        await shop.auth.login(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        yield shop


def test_each_service_says_which_peers_it_calls_over_http(cluster: Cluster) -> None:
    orders_log = (cluster.tmp / "orders.log").read_text()
    assert f"calls cart over HTTP at {cluster.url('cart')}" in orders_log
    assert f"calls products over HTTP at {cluster.url('products')}" in orders_log
    cart_log = (cluster.tmp / "cart.log").read_text()
    assert f"calls products over HTTP at {cluster.url('products')}" in cart_log


async def test_the_complete_purchase_flow_through_the_gateway(
    cluster: Cluster, admin: AsyncShopClient
) -> None:
    health = await admin.health()
    assert health.ok and health.database == "ok"
    product_id = await _product(admin, stock=5)
    async with AsyncShopClient(base_url=cluster.api) as customer:
        await customer.auth.register(
            email=f"buyer-{uuid.uuid4().hex[:8]}@example.com", password="customer pw 1", name="B"
        )
        cart = await customer.cart.add_item(product_id, quantity=2)  # cart -> products
        assert cart.total_items == 2 and cart.subtotal == Decimal("199.98")
        order = await customer.orders.create(shipping_address=ADDRESS)  # orders -> cart, stock
        assert (order.subtotal, order.tax, order.total) == (
            Decimal("199.98"),
            Decimal("10.00"),
            Decimal("209.98"),
        )
        assert order.status == "pending"
        assert (await customer.cart.get()).items == []  # cleared over HTTP
        assert [o.id for o in (await customer.orders.list()).items] == [order.id]
        assert (await customer.orders.get(order.id)).total == order.total
        assert (await admin.products.get(product_id)).stock == 3
        for status in ("confirmed", "processing", "shipped", "delivered"):
            moved = await admin.orders.update_status(order.id, status=status)
            assert moved.status == status
        assert [c.status for c in (await customer.orders.get(order.id)).status_history] == [
            "pending",
            "confirmed",
            "processing",
            "shipped",
            "delivered",
        ]
        # More than is left: the stock check over HTTP names the product.
        await customer.cart.add_item(product_id, quantity=3)
        await admin.products.update(product_id, stock=2)
        with pytest.raises(InsufficientStockError):
            await customer.orders.create(shipping_address=ADDRESS)
        assert (await admin.products.get(product_id)).stock == 2


def test_request_ids_pass_through_the_gateway_to_every_hop(cluster: Cluster) -> None:
    with httpx.Client(base_url=cluster.api) as http:
        mine = http.get("/products", headers={"X-Request-ID": "gw-trace-1"})
        assert mine.status_code == 200 and mine.headers["x-request-id"] == "gw-trace-1"
        minted = http.get("/categories")
        assert minted.status_code == 200 and len(minted.headers["x-request-id"]) >= 16
        token = http.post(
            "/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        ).json()["tokens"]["access_token"]
        reply = http.get(
            "/cart", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "gw-trace-2"}
        )
        assert reply.status_code == 200
    # Each service logged the id the gateway handed it.
    wait_for_log(cluster.tmp / "cart.log", '"request_id": "gw-trace-2"')
    wait_for_log(cluster.tmp / "products.log", '"request_id": "gw-trace-1"')


async def test_the_request_id_follows_a_checkout_across_services(
    cluster: Cluster, admin: AsyncShopClient
) -> None:
    product_id = await _product(admin, stock=3)
    token = _register(cluster.api)
    async with AsyncShopClient(base_url=cluster.api, access_token=token) as customer:
        await customer.cart.add_item(product_id)
    async with httpx.AsyncClient(base_url=cluster.api) as http:
        reply = await http.post(
            "/orders",
            json={"shipping_address": ADDRESS.model_dump(exclude_none=True)},
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "checkout-77"},
        )
    assert reply.status_code == 201, reply.text
    for service in ("orders", "cart", "products"):
        wait_for_log(cluster.tmp / f"{service}.log", '"request_id": "checkout-77"')


def test_internal_routes_are_not_reachable_through_the_gateway(cluster: Cluster) -> None:
    service = TokenCodec(SECRET).issue_service_token("orders")
    body = {"reservation_id": new_id(), "lines": [{"product_id": new_id(), "quantity": 1}]}
    root = f"http://127.0.0.1:{cluster.gateway_port}"
    with httpx.Client(headers={"Authorization": f"Bearer {service}"}) as http:
        for path in (
            "/internal/stock/reservations",
            "/api/internal/stock/reservations",
            "/api/products/../../internal/stock/reservations",
            "/api/products/%2e%2e/%2e%2e/internal/stock/reservations",
            "/api/products/..%2F..%2Finternal/stock/reservations",
        ):
            reply = http.post(root + path, json=body)
            assert reply.status_code == 404, (path, reply.text)
            assert reply.json()["code"] in ("not_found", "product_not_found"), path


def test_a_user_token_is_refused_on_internal_at_the_product_service(cluster: Cluster) -> None:
    with httpx.Client() as http:
        token = http.post(
            f"{cluster.api}/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        ).json()["tokens"]["access_token"]
        reply = http.post(
            f"{cluster.url('products')}/internal/stock/reservations",
            json={"reservation_id": new_id(), "lines": [{"product_id": new_id(), "quantity": 1}]},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert reply.status_code == 401 and reply.json()["code"] == "invalid_token"


async def test_a_retried_reservation_over_http_takes_stock_once(
    cluster: Cluster, admin: AsyncShopClient
) -> None:
    product_id = await _product(admin, stock=10)
    token = TokenCodec(SECRET).issue_service_token("orders")
    body = {"reservation_id": new_id(), "lines": [{"product_id": product_id, "quantity": 4}]}
    async with httpx.AsyncClient(
        base_url=cluster.url("products"), headers={"Authorization": f"Bearer {token}"}
    ) as http:
        for _ in range(3):
            reply = await http.post("/internal/stock/reservations", json=body)
            assert reply.status_code == 204, reply.text
        assert (await admin.products.get(product_id)).stock == 6
        for _ in range(2):
            release = f"/internal/stock/reservations/{body['reservation_id']}/release"
            assert (await http.post(release)).status_code == 204
    assert (await admin.products.get(product_id)).stock == 10


async def _add_to_cart(
    cluster: Cluster, token: str, product_id: str
) -> tuple[httpx.Response, float]:
    began = time.monotonic()
    async with httpx.AsyncClient() as http:
        reply = await http.post(
            f"{cluster.api}/cart/items",
            json={"product_id": product_id, "quantity": 1},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    return reply, time.monotonic() - began


async def test_products_down_or_hung_is_503_in_time_and_recovers(
    cluster: Cluster, admin: AsyncShopClient
) -> None:
    product_id = await _product(admin, stock=10)
    token = _register(cluster.api)
    margin = 1.0

    # Hung: the process holds its socket but never answers (SIGSTOP), so only the time
    # budget can end the call.
    products = cluster.procs["products"]
    os.killpg(products.pid, signal.SIGSTOP)
    try:
        reply, elapsed = await _add_to_cart(cluster, token, product_id)
    finally:
        os.killpg(products.pid, signal.SIGCONT)
    assert reply.status_code == 503, reply.text
    assert reply.json()["code"] == "upstream_unavailable"
    assert UPSTREAM_TIMEOUT - 0.2 <= elapsed < UPSTREAM_TIMEOUT + margin

    # Down: connections are refused; the answer is the same, and quicker.
    cluster.stop("products")
    reply, elapsed = await _add_to_cart(cluster, token, product_id)
    assert reply.status_code == 503 and reply.json()["code"] == "upstream_unavailable"
    assert elapsed < UPSTREAM_TIMEOUT + margin
    assert "Traceback" not in reply.text

    # Back up: the very same request succeeds (the cart's connection pool recovers).
    wait_healthy(f"{cluster.url('products')}/health", cluster.start("products"))
    reply, _ = await _add_to_cart(cluster, token, product_id)
    assert reply.status_code == 200, reply.text
    assert reply.json()["items"][0]["product_id"] == product_id


def test_a_service_down_behind_the_gateway_is_a_json_503(cluster: Cluster) -> None:
    cluster.stop("auth")
    try:
        reply = httpx.post(
            f"{cluster.api}/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert reply.status_code == 503
        assert reply.json()["code"] == "upstream_unavailable"
    finally:
        wait_healthy(f"{cluster.url('auth')}/health", cluster.start("auth"))
