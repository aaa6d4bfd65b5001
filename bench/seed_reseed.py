"""``shopkit seed``: creating N products vs re-seeding the same N unchanged rows.

    uv run python bench/seed_reseed.py [N] [--rounds R]      # default N=20000, R=1

Starts a real ``shopkit serve`` on a free port with a fresh SQLite file, creates an admin
(``shopkit users create-admin --password-stdin``), logs in, writes a CSV of N generated
products in 10 categories, then times, per round, two ``shopkit seed`` runs as a user would
type them: the first creates every product (on an empty catalog), the second finds every
row unchanged and writes nothing. Each round uses a fresh store. Prints both times and the
ratio re-seed / create (goal: <= 1.0), the median over the rounds.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

PASSWORD = "bench-password-1"
EMAIL = "bench@example.com"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_catalog(path: Path, n: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "name", "price", "category", "description", "tags", "stock"])
        for i in range(n):
            writer.writerow(
                [f"SKU-{i:07d}", f"Product {i}", f"{(i % 9000) / 100 + 1:.2f}",
                 f"Category {i % 10}", f"Generated product number {i}", "bench|generated",
                 i % 50]
            )


def shopkit(env: dict[str, str], *args: str, stdin: str | None = None) -> float:
    """Run one shopkit command; its wall time in seconds (fails loudly on a non-zero exit)."""
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "shopkit_cli.main", *args],
        input=stdin, capture_output=True, text=True, env=env, check=False,
    )
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"shopkit {' '.join(args)} exited {run.returncode}: {run.stderr}")
    return elapsed


def one_round(n: int, catalog: Path, work: Path) -> tuple[float, float]:
    port = free_port()
    db = work / f"bench-{port}.db"
    env = {
        **os.environ,
        "SHOPKIT_DATABASE_URL": f"sqlite:///{db}",
        "SHOPKIT_BCRYPT_ROUNDS": "4",
        "SHOPKIT_LOG_LEVEL": "warning",
        "SHOPKIT_CONFIG_DIR": str(work / "config"),
        "SHOPKIT_BASE_URL": f"http://127.0.0.1:{port}/api",
    }
    shopkit(env, "users", "create-admin", "--email", EMAIL, "--password-stdin",
            stdin=PASSWORD + "\n")
    server = subprocess.Popen(
        [sys.executable, "-m", "shopkit_cli.main", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("shopkit serve did not start") from None
                time.sleep(0.1)
        shopkit(env, "login", "--email", EMAIL, "--password-stdin", stdin=PASSWORD + "\n")
        create = shopkit(env, "seed", str(catalog))
        reseed = shopkit(env, "seed", str(catalog))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return create, reseed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shopkit-bench-seed-"))
    try:
        catalog = work / "catalog.csv"
        write_catalog(catalog, args.n)
        results = [one_round(args.n, catalog, work) for _ in range(args.rounds)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    create = statistics.median(r[0] for r in results)
    reseed = statistics.median(r[1] for r in results)
    print(f"# shopkit seed: create vs re-seed of {args.n} products")
    print()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite store, {args.rounds} round(s), median")
    print()
    print("| run | seconds | rows/s |")
    print("| --- | ---: | ---: |")
    print(f"| create (empty catalog) | {create:.2f} | {args.n / create:,.0f} |")
    print(f"| re-seed (every row unchanged) | {reseed:.2f} | {args.n / reseed:,.0f} |")
    print()
    print(f"ratio re-seed / create: {reseed / create:.2f}x (goal <= 1.0x)")


if __name__ == "__main__":
    main()
