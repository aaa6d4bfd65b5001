"""The OpenAPI document as a mobile team uses it, against a live `shopkit serve`:

- a Python client generated from ``/openapi.json`` by openapi-python-client browses without a
  token and buys something;
- schemathesis (fixed seed, the five response checks) over every operation, as a customer and
  as an admin, finds nothing.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.procs import SHOPKIT, free_port, start, stop, wait_healthy

pytestmark = pytest.mark.e2e

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,response_headers_conformance"
)
ADDRESS = {
    "full_name": "Ayesha Khan",
    "address_line1": "12 Mall Road",
    "city": "Lahore",
    "postal_code": "54000",
    "country": "PK",
    "phone": "+92 300 1234567",
}


@dataclass
class LiveShop:
    base: str
    admin_token: str
    customer_token: str
    log: Path


def _token(base: str, path: str, body: dict[str, str]) -> str:
    reply = httpx.post(f"{base}{path}", json=body, timeout=10)
    assert reply.status_code in (200, 201), reply.text
    token: str = reply.json()["tokens"]["access_token"]
    return token


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveShop]:
    folder = tmp_path_factory.mktemp("live")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKIT_")}
    env |= {"SHOPKIT_BCRYPT_ROUNDS": "4", "SHOPKIT_LOG_JSON": "true"}
    # Stripe configured (its API nowhere: intents are deferred, 502 when asked), so the signed
    # webhook route is exercised for its 400 invalid_signature, not just "not configured".
    env |= {
        "SHOPKIT_STRIPE_SECRET_KEY": "sk_test_contract",
        "SHOPKIT_STRIPE_WEBHOOK_SECRET": "whsec_contract",
        "SHOPKIT_STRIPE_API_BASE": "http://127.0.0.1:9",
    }
    admin = {"email": "boss@example.com", "password": "admin password 1"}
    subprocess.run(
        [*SHOPKIT, "users", "create-admin", "--email", admin["email"], "--password",
         admin["password"]],
        env=env, cwd=folder, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    port = free_port()
    log = folder / "serve.log"
    proc = start([*SHOPKIT, "serve", "--port", str(port), "--demo"], env=env, cwd=folder, log=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{base}/health", proc, timeout=30)
        customer = {"email": "mobile@example.com", "password": "customer pw 1", "name": "M"}
        yield LiveShop(
            base=base,
            admin_token=_token(base, "/api/auth/login", admin),
            customer_token=_token(base, "/api/auth/register", customer),
            log=log,
        )
    finally:
        stop(proc)


def test_a_generated_client_browses_without_a_token_and_buys(
    shop: LiveShop, tmp_path: Path
) -> None:
    spec = tmp_path / "openapi.json"
    spec.write_bytes(httpx.get(f"{shop.base}/openapi.json", timeout=10).content)
    config = tmp_path / "config.yml"
    config.write_text("post_hooks: []\nproject_name_override: shop_api\n")
    bin_dir = Path(sys.executable).parent
    generated = subprocess.run(
        [str(bin_dir / "openapi-python-client"), "generate", "--path", str(spec),
         "--output-path", str(tmp_path / "shop_api"), "--meta", "none", "--config", str(config)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout, generated.stdout
    sys.path.insert(0, str(tmp_path))
    try:
        _buy(shop, lambda name: importlib.import_module(f"shop_api.{name}"))
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "shop_api" or m.startswith("shop_api.")]:
            del sys.modules[name]


def _buy(shop: LiveShop, module: Any) -> None:
    client_mod = module("client")
    models = module("models")
    list_products = module("api.products.list_products")
    get_product = module("api.products.get_product")
    add_cart_item = module("api.cart.add_cart_item")
    checkout = module("api.orders.checkout")
    list_orders = module("api.orders.list_orders")

    # Browsing needs no token: a plain Client, no Authorization header at all.
    anonymous = client_mod.Client(base_url=shop.base, raise_on_unexpected_status=True)
    page = list_products.sync(client=anonymous, page_size=5, in_stock=True)
    assert isinstance(page, models.PageProductOut), page
    assert page.items and page.next_cursor
    nxt = list_products.sync(client=anonymous, page_size=5, in_stock=True, cursor=page.next_cursor)
    assert {p.id for p in nxt.items}.isdisjoint({p.id for p in page.items})
    product = get_product.sync(product_id=page.items[0].id, client=anonymous)
    assert isinstance(product, models.ProductOut)

    customer = client_mod.AuthenticatedClient(
        base_url=shop.base, token=shop.customer_token, raise_on_unexpected_status=True
    )
    # A line is one variant (the demo's first products come in sizes and colours).
    variant = next(v for v in product.variants if v.is_active and v.stock >= 2)
    cart = add_cart_item.sync(
        client=customer,
        body=models.AddItemRequest(product_id=product.id, variant_id=variant.id, quantity=2),
    )
    assert isinstance(cart, models.CartOut), cart
    address = models.AddressIn(**ADDRESS)
    reply = checkout.sync_detailed(
        client=customer,
        body=models.CheckoutRequest(shipping_address=address),
        idempotency_key="mobile-checkout-1",
    )
    assert reply.status_code == 201, reply.content
    order = reply.parsed
    assert isinstance(order, models.CheckoutOut)  # the order, plus its payment's client_secret
    assert order.payment_method == "manual" and order.client_secret is None
    assert Decimal(str(order.items[0].price)) == Decimal(str(product.price))
    assert order.items[0].quantity == 2
    # A documented error arrives typed, with its code.
    again = checkout.sync_detailed(
        client=customer, body=models.CheckoutRequest(shipping_address=address)
    )
    assert again.status_code == 400
    assert again.parsed.code.value == "cart_empty"
    history = list_orders.sync(client=customer)
    assert [o.id for o in history.items] == [order.id]


def _schemathesis(shop: LiveShop, token: str, tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    run = subprocess.run(
        [str(bin_dir / "schemathesis"), "run", f"{shop.base}/openapi.json",
         "--url", shop.base, "--checks", CHECKS, "--seed", "20261201", "--max-examples", "15",
         "--phases", "examples,coverage,fuzzing,stateful", "--no-color",
         "--header", f"Authorization: Bearer {token}", "--request-timeout", "10"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failures" not in run.stdout.split("SUMMARY")[-1]


def test_schemathesis_finds_nothing_as_a_customer(shop: LiveShop, tmp_path: Path) -> None:
    _schemathesis(shop, shop.customer_token, tmp_path)


def test_schemathesis_finds_nothing_as_an_admin(shop: LiveShop, tmp_path: Path) -> None:
    _schemathesis(shop, shop.admin_token, tmp_path)
    assert '"status": 500' not in shop.log.read_text()
