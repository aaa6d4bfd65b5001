"""examples/quickstart.py: in process against the app, and as a program against `shopkit serve`."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from shopkit import AsyncShopClient
from tests.sdk.conftest import Catalog

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "quickstart.py"


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("quickstart_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_quickstart_flow_in_process(
    anon: AsyncShopClient,
    admin_shop: AsyncShopClient,
    catalog: Catalog,
    capsys: pytest.CaptureFixture[str],
) -> None:
    example = _load_example()
    order = await example.purchase(anon, admin_shop, "headphones")
    assert order.status == "shipped"
    assert [i.product_id for i in order.items] == [catalog.headphones.id]
    out = capsys.readouterr().out
    assert f"Order {order.id}" in out
    assert "total" in out and str(order.total) in out
    assert "pending -> confirmed -> processing -> shipped" in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.e2e
def test_quickstart_runs_against_shopkit_serve_demo(tmp_path: Path) -> None:
    port = _free_port()
    db = tmp_path / "shop.db"
    env = {**os.environ, "SHOPKIT_DATABASE_URL": f"sqlite:///{db}", "SHOPKIT_BCRYPT_ROUNDS": "4"}
    env.pop("SHOPKIT_BASE_URL", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shopkit_cli.main",
            "serve",
            "--demo",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"shopkit serve did not start:\n{server.communicate()[0]}")
            time.sleep(0.2)
        admin = subprocess.run(
            [
                sys.executable,
                "-m",
                "shopkit_cli.main",
                "users",
                "create-admin",
                "--email",
                "admin@example.com",
                "--password",
                "admin-password-1",
                "--name",
                "Admin",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert admin.returncode == 0, admin.stderr + admin.stdout
        run = subprocess.run(
            [sys.executable, str(EXAMPLE)],
            cwd=tmp_path,
            env={
                **env,
                "SHOPKIT_BASE_URL": base,
                "SHOPKIT_ADMIN_EMAIL": "admin@example.com",
                "SHOPKIT_ADMIN_PASSWORD": "admin-password-1",
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr + run.stdout
        assert "Order " in run.stdout and "Your order is shipped." in run.stdout
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
