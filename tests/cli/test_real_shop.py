"""The issue's walk-through with real processes: `shopkit serve` in one terminal, and in another
`create-admin`, `login`, `seed`, `products list`, and `orders advance` on an order a customer
placed through the SDK."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

import shopkit
from tests.cli.test_seed import CATALOG
from tests.e2e.procs import SHOPKIT, free_port, start, stop, wait_healthy

pytestmark = pytest.mark.e2e
EXAMPLE = Path(__file__).parents[2] / "examples" / "catalog.json"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKIT_")}
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        env.pop(name, None)
    return env | {
        "SHOPKIT_BCRYPT_ROUNDS": "4",
        "SHOPKIT_LOG_JSON": "true",
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
    }


def _shopkit(
    tmp_path: Path, *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SHOPKIT, *args],
        env=_env(tmp_path),
        cwd=tmp_path,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def _customer_checkout(base_url: str, sku: str) -> str:
    async with shopkit.AsyncShopClient(base_url=base_url) as shop:
        await shop.auth.register(email="buyer@example.com", password="buyer password", name="B")
        found = [p async for p in shop.products.iterate() if p.sku == sku]
        await shop.cart.add_item(found[0].id, quantity=1)
        order = await shop.orders.create(
            shipping_address={
                "full_name": "B Uyer",
                "address_line1": "1 Road",
                "city": "Lahore",
                "postal_code": "54000",
                "country": "PK",
                "phone": "+92 300 0000000",
            }
        )
    return order.id


def test_a_new_admin_runs_the_shop_from_the_terminal(tmp_path: Path) -> None:
    created = _shopkit(
        tmp_path,
        "users",
        "create-admin",
        "--email",
        "boss@example.com",
        "--password",
        "admin password 1",
    )
    assert created.returncode == 0, created.stderr
    port = free_port()
    base = f"http://127.0.0.1:{port}/api"
    proc = start(
        [*SHOPKIT, "serve", "--port", str(port)],
        env=_env(tmp_path),
        cwd=tmp_path,
        log=tmp_path / "serve.log",
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", proc)
        login = _shopkit(
            tmp_path,
            "--base-url",
            base,
            "login",
            "--email",
            "boss@example.com",
            "--password-stdin",
            input="admin password 1\n",
        )
        assert login.returncode == 0, login.stderr
        creds = tmp_path / "xdg" / "shopkit" / "credentials.json"
        assert stat.S_IMODE(creds.stat().st_mode) == 0o600

        if EXAMPLE.exists():
            catalog = EXAMPLE
        else:
            catalog = tmp_path / "catalog.json"
            catalog.write_text(json.dumps(CATALOG))
        first = _shopkit(tmp_path, "seed", str(catalog), "--json")
        assert first.returncode == 0, first.stderr
        created_count = json.loads(first.stdout)["products"]["created"]
        assert created_count > 0
        second = _shopkit(tmp_path, "seed", str(catalog), "--json")
        assert json.loads(second.stdout)["products"] == {
            "created": 0,
            "updated": 0,
            "unchanged": created_count,
            "failed": 0,
        }

        listed = _shopkit(tmp_path, "products", "list", "--all-pages", "--json")
        assert listed.returncode == 0, listed.stderr
        products = json.loads(listed.stdout)
        assert len(products) == created_count
        in_stock = next(p for p in products if p["stock"] > 0 and p["sku"])
        plain = _shopkit(tmp_path, "products", "list")
        assert plain.stdout.count("\n") == min(created_count, 20)

        order_id = asyncio.run(_customer_checkout(base, in_stock["sku"]))
        advanced = _shopkit(tmp_path, "orders", "advance", order_id, "--json")
        assert advanced.returncode == 0, advanced.stderr
        assert json.loads(advanced.stdout)["status"] == "confirmed"
        refused = _shopkit(tmp_path, "orders", "advance", order_id, "--to", "delivered")
        assert refused.returncode == 1
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and "invalid_transition" in lines[0] and "request id" in lines[0]

        assert _shopkit(tmp_path, "logout").returncode == 0
        after = _shopkit(tmp_path, "whoami")
        assert after.returncode == 1 and "not logged in" in after.stderr
    finally:
        assert stop(proc) == 0
