"""examples/embed_app.py run the way its docstring says: a real uvicorn process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from shopkit_server.context import build_context
from shopkit_server.products.models import CategoryDraft, ProductDraft
from shopkit_server.security import Role
from shopkit_server.settings import Settings
from shopkit_server.store import open_store
from tests.e2e.procs import free_port, start, stop, wait_healthy

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SECRET = "embed-secret-" + "z" * 50


async def _seed(settings: Settings) -> tuple[str, str]:
    store = await open_store(settings)
    try:
        ctx = build_context(settings, store, SECRET)
        await ctx.products.categories.create(CategoryDraft(name="Audio"))
        product = await ctx.products.create_product(
            ProductDraft(name="Headphones", price=Decimal("99.99"), category="Audio", stock=5)
        )
        # A real account: state-changing customer routes check the live account.
        user = await ctx.auth.create_user(
            email="embed@example.com", password="embed password", name="Embed"
        )
        return product.id, ctx.tokens.issue(user.id, Role.CUSTOMER).access_token
    finally:
        await store.close()


def test_host_app_serves_hello_and_shopkit_under_shop(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKIT_")} | {
        "SHOPKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'shop.db'}",
        "SHOPKIT_JWT_SECRET_KEY": SECRET,
    }
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=env["SHOPKIT_DATABASE_URL"],
        jwt_secret_key=SECRET,
    )
    product_id, token = asyncio.run(_seed(settings))
    port = free_port()
    proc = start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            "examples",
            "embed_app:app",
            "--port",
            str(port),
        ],
        env=env,
        cwd=ROOT,
        log=tmp_path / "uvicorn.log",
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(f"{base}/shop/health", proc)
        assert httpx.get(f"{base}/hello").json() == {"hello": "world"}
        listed = httpx.get(f"{base}/shop/products")
        assert listed.status_code == 200
        assert [p["name"] for p in listed.json()["items"]] == ["Headphones"]
        auth = {"Authorization": f"Bearer {token}"}
        added = httpx.post(
            f"{base}/shop/cart/items", json={"product_id": product_id, "quantity": 2}, headers=auth
        )
        assert added.status_code in (200, 201), added.text
        cart = httpx.get(f"{base}/shop/cart", headers=auth).json()
        assert cart["items"][0]["quantity"] == 2
        assert httpx.get(f"{base}/shop/orders").status_code == 404  # orders were not included
    finally:
        code = stop(proc)
    log = (tmp_path / "uvicorn.log").read_text()
    # uvicorn re-raises the SIGTERM it handled, once shut down cleanly.
    assert code in (0, -signal.SIGTERM), log
    assert "Application shutdown complete." in log  # the shop's lifespan closed with the host's
    assert "Traceback" not in log
