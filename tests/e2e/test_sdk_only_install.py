"""`pip install shopkit` (no extra) in a fresh venv: the SDK and the CLI's client commands work,
and no server package is installed or imported; `pip install "shopkit[server]"` then serves."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.e2e.procs import free_port, start, stop, wait_healthy

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SERVER_PACKAGES = [
    "fastapi",
    "starlette",
    "uvicorn",
    "bcrypt",
    "pymongo",
    "aiosqlite",
    "structlog",
    "jwt",
    "pydantic_settings",
    "email_validator",
]

SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys, threading, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    SERVER = {servers!r}
    assert [m for m in SERVER if importlib.util.find_spec(m) is not None] == []

    started = time.perf_counter()
    import shopkit
    took = time.perf_counter() - started
    assert [m for m in SERVER + ["shopkit_server"] if m in sys.modules] == []

    PRODUCT = {{"id": "p1", "name": "Kettle", "price": 19.99, "category": "Kitchen", "sku": None,
               "description": "", "tags": [], "image_url": None, "stock": 3, "is_active": True,
               "is_featured": False, "slug": "kettle",
               "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/api/products"):
                body = {{"items": [PRODUCT], "total": 1, "page": 1, "page_size": 20,
                        "has_next": False}}
            else:
                body = {{"status": "ok", "service": "shopkit", "version": "x",
                        "database": "ok"}}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Request-ID", "req-1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{{server.server_port}}/api"
    with shopkit.ShopClient(base_url=base) as shop:
        page = shop.products.list()
        assert str(page.items[0].price) == "19.99", page.items[0].price
        assert shop.health().status == "ok"
    server.shutdown()
    print(f"import shopkit: {{took:.3f}} s")
    """
)


def test_the_sdk_installs_and_works_without_the_server(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH: cannot build and install the wheel")
    build = subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if build.returncode != 0:
        pytest.skip(f"cannot build the wheel here: {build.stderr.strip().splitlines()[-1:]}")
    wheel = next((tmp_path / "dist").glob("shopkit-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run(
        [uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, timeout=60
    )
    python = venv / "bin" / "python"
    install = subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(python), str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if install.returncode != 0:
        pytest.skip(f"cannot install the wheel's dependencies (offline?): {install.stderr[-300:]}")

    run = subprocess.run(
        [str(python), "-c", SCRIPT.format(servers=SERVER_PACKAGES)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "import shopkit:" in run.stdout

    # The CLI's client commands are there; the server ones say, in one line, what to install.
    shopkit = venv / "bin" / "shopkit"
    assert subprocess.run([str(shopkit), "--help"], capture_output=True, timeout=60).returncode == 0
    for args in (["serve"], ["users", "create-admin", "--email", "a@example.com"]):
        refused = subprocess.run(
            [str(shopkit), *args], capture_output=True, text=True, timeout=60, cwd=tmp_path
        )
        assert refused.returncode == 1, refused.stderr
        assert 'pip install "shopkit[server]"' in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr

    # The same wheel with the server extra serves.
    extra = subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(python), f"{wheel}[server]"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if extra.returncode != 0:
        pytest.skip(f"cannot install the server extra (offline?): {extra.stderr[-300:]}")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKIT_")}
    proc = start(
        [str(shopkit), "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        log=tmp_path / "serve.log",
    )
    try:
        health = wait_healthy(f"http://127.0.0.1:{port}/api/health", proc, timeout=30)
        assert health.json()["database"] == "ok"
    finally:
        stop(proc)
