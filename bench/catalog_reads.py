"""Catalog reads against a bare FastAPI endpoint, on this machine, with wrk.

    uv run python bench/catalog_reads.py            # writes bench/results/catalog_reads.md
    uv run python bench/catalog_reads.py --database-url postgresql://postgres@127.0.0.1/postgres
                                                    # writes bench/results/catalog_reads_postgres.md

Both servers run as one uvicorn process (uvloop + httptools) pinned to one core, wrk on the
other core. shopkit serves the demo catalog plus generated products, with its full middleware
stack (request ids, JSON access logs to /dev/null). By default the store is SQLite (a fresh file
per run); with ``--database-url postgresql://...`` it is PostgreSQL: the URL names a database to
connect to (``postgres`` will do), where the benchmark creates a fresh ``shopkit_bench_*``
database per run and drops it afterwards. On a two-core machine the PostgreSQL server shares
core 0 with shopkit, so the two stores are compared under the same two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
EXTRA_PRODUCTS = int(os.environ.get("BENCH_EXTRA_PRODUCTS", "2000"))


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} never answered")


def _wrk(url: str) -> float:
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}s", "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses\n{out}")
    assert match, out
    return float(match.group(1))


def _seed(base: str, admin_email: str, password: str) -> str:
    token = httpx.post(f"{base}/api/auth/login", json={"email": admin_email, "password": password}).json()["tokens"]["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    rows = [
        {
            "sku": f"BENCH-{i:05d}", "name": f"Bench product {i}",
            "description": f"A generated product number {i} for the benchmark catalog.",
            "price": f"{(i % 500) + 0.99:.2f}", "category": "Audio", "tags": ["bench", f"t{i % 7}"],
            "stock": 100, "is_featured": i % 13 == 0,
        }
        for i in range(EXTRA_PRODUCTS)
    ]
    for start in range(0, len(rows), 500):
        reply = httpx.post(f"{base}/api/products/bulk", json=rows[start:start + 500], headers=headers, timeout=60)
        reply.raise_for_status()
    first = httpx.get(f"{base}/api/products", params={"page_size": 1}).json()
    return str(first["items"][0]["id"])


def _postgres_url(admin_url: str, db_name: str) -> str:
    base, _, query = admin_url.partition("?")
    scheme, _, rest = base.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/{db_name}" + (f"?{query}" if query else "")


def _postgres_admin(admin_url: str, sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def _measure_shop(env: dict[str, str], python: str, cache_seconds: str, bare_base: str,
                  work: Path, postgres: str | None) -> list[tuple[str, float, str, float]]:
    if postgres:
        db_name = f"shopkit_bench_{os.getpid()}_{cache_seconds.replace('.', '_')}"
        _postgres_admin(postgres, f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        _postgres_admin(postgres, f"CREATE DATABASE {db_name} ENCODING 'UTF8' TEMPLATE template0")
        database_url = _postgres_url(postgres, db_name)
    else:
        database_url = f"sqlite:///{work}/bench-{cache_seconds}.db"
    try:
        return _run_shop(env | {"SHOPKIT_CATALOG_CACHE_SECONDS": cache_seconds,
                                "SHOPKIT_DATABASE_URL": database_url}, python, bare_base)
    finally:
        if postgres:
            _postgres_admin(postgres, f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


def _run_shop(env: dict[str, str], python: str, bare_base: str) -> list[tuple[str, float, str, float]]:
    subprocess.run([python, "-m", "shopkit_cli.main", "users", "create-admin", "--email",
                    "bench@example.com", "--password", "bench password"], env=env, check=True,
                   capture_output=True)
    port = _free_port()
    shop = subprocess.Popen(["taskset", "-c", "0", python, "-m", "shopkit_cli.main", "serve", "--demo",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    results = []
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(f"{base}/health")
        product_id = _seed(base, "bench@example.com", "bench password")
        cases = [
            ("GET /api/products/{id}", f"{base}/api/products/{product_id}", "/product"),
            ("GET /api/products (page of 20)", f"{base}/api/products", "/page"),
            ("GET /api/products?category=Audio&sort=price_asc",
             f"{base}/api/products?category=Audio&sort=price_asc", "/page"),
            ("GET /api/products/search?q=wireless", f"{base}/api/products/search?q=wireless", "/page"),
        ]
        for name, url, bare_path in cases:
            _wrk(url)  # warm-up: caches, connection pools
            shop_rps = _wrk(url)
            bare_rps = _wrk(f"{bare_base}{bare_path}")
            results.append((name, shop_rps, bare_path, bare_rps))
    finally:
        shop.terminate()
        shop.wait(10)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="a postgresql:// URL: benchmark the PostgreSQL store")
    args = parser.parse_args()
    postgres: str | None = args.database_url
    if postgres and not postgres.startswith(("postgresql://", "postgres://")):
        raise SystemExit("--database-url must be a postgresql:// URL (SQLite is the default)")
    store = "PostgreSQL" if postgres else "SQLite"
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="shopkit-bench-"))
    env = {**os.environ, "SHOPKIT_JWT_SECRET_KEY": "bench-" + "s" * 40, "SHOPKIT_LOG_JSON": "true",
           "SHOPKIT_BCRYPT_ROUNDS": "4"}
    python = sys.executable
    bare_port = _free_port()
    bare = subprocess.Popen(["taskset", "-c", "0", python, "-m", "uvicorn", "bench.bare_app:app",
                             "--port", str(bare_port), "--log-level", "warning", "--no-access-log",
                             "--loop", "uvloop", "--http", "httptools"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        bare_base = f"http://127.0.0.1:{bare_port}"
        _wait(f"{bare_base}/hello")
        hello = _wrk(f"{bare_base}/hello")
        runs = {
            "default settings (catalog read cache on, `SHOPKIT_CATALOG_CACHE_SECONDS=2`)":
                _measure_shop(env, python, "2", bare_base, work, postgres),
            f"cache off (`SHOPKIT_CATALOG_CACHE_SECONDS=0`): every read reaches {store}":
                _measure_shop(env, python, "0", bare_base, work, postgres),
        }
    finally:
        bare.terminate()
        bare.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    command = "uv run python bench/catalog_reads.py" + (
        f" --database-url {_redact(postgres)}" if postgres else "")
    lines = [
        f"# Catalog reads vs a bare FastAPI endpoint ({store} store)",
        "",
        f"Recorded {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; each server pinned to core 0, wrk (1 thread, {CONNECTIONS} "
        f"connections, {DURATION} s) on core 1. Catalog: demo + {EXTRA_PRODUCTS} generated products, "
        f"{store}, JSON access log on. Reproduce: `{command}` (needs wrk).",
        "",
        f"Bare FastAPI hello world: {hello:,.0f} req/s. Goal: shopkit >= 0.6x the bare endpoint.",
    ]
    for title, results in runs.items():
        lines += ["", f"## {title}", "",
                  "| shopkit endpoint | shopkit req/s | bare endpoint | bare req/s | ratio |",
                  "| --- | ---: | --- | ---: | ---: |"]
        for name, shop_rps, bare_path, bare_rps in results:
            lines.append(f"| `{name}` | {shop_rps:,.0f} | `{bare_path}` | {bare_rps:,.0f} | "
                         f"{shop_rps / bare_rps:.2f}x |")
    out = ROOT / "bench" / "results" / ("catalog_reads_postgres.md" if postgres else "catalog_reads.md")
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps({"written": str(out)}))


def _redact(url: str) -> str:
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    return f"{scheme}://{credentials.split(':', 1)[0]}@{host}" if at else url


if __name__ == "__main__":
    main()
