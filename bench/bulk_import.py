"""Bulk import: the API and ``shopkit seed`` vs a direct executemany into the same schema.

    uv run python bench/bulk_import.py [--products 10000] [--rounds 3]
    uv run python bench/bulk_import.py --products 100000 --rounds 1     # the issue's size

Per round, on fresh stores: (1) ``POST /api/products/bulk`` with 500 rows per request to a
``shopkit serve`` (one client, in this process); (2) ``shopkit seed FILE.csv`` as a user
types it, against a second fresh server; (3) the reference: the same rows written straight
into an empty shopkit schema (made by ``shopkit users create-admin``), ``executemany`` into
``products`` in transactions of 500 rows (its triggers fill the FTS index and
``product_tags`` as they do for shopkit). Times are medians of the interleaved rounds; ratios are over the reference.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness as h

CATEGORY = "Audio"


def rows_for(count: int) -> list[dict[str, Any]]:
    return h.generated_rows(count, category=CATEGORY)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "name", "price", "category", "description", "tags", "stock"])
        for row in rows:
            writer.writerow([row["sku"], row["name"], row["price"], row["category"],
                             row["description"], "|".join(row["tags"]), row["stock"]])


def fresh_shop(work: Path, name: str) -> tuple[h.Server, str]:
    server = h.start_shop(work / f"{name}.db", SHOPKIT_LOG_LEVEL="warning")
    token = h.admin_token(server.base)
    h.ensure_category(server.base, token, CATEGORY)
    return server, token


def via_api(work: Path, tag: str, rows: list[dict[str, Any]]) -> dict[str, float]:
    server, token = fresh_shop(work, f"api-{tag}")
    try:
        cpu = server.cpu() + time.process_time()
        started = time.perf_counter()
        h.bulk_import(server.base, token, rows)
        elapsed = time.perf_counter() - started
        return {"s": elapsed, "cpu": server.cpu() + time.process_time() - cpu}
    finally:
        server.stop()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def via_seed(work: Path, tag: str, catalog: Path) -> dict[str, float]:
    server, _ = fresh_shop(work, f"seed-{tag}")
    env = h.shop_env(work / f"seed-{tag}.db", SHOPKIT_BASE_URL=f"{server.base}/api",
                     SHOPKIT_CONFIG_DIR=str(work / f"cfg-{tag}"))
    try:
        subprocess.run([h.PYTHON, "-m", "shopkit_cli.main", "login", "--email", h.ADMIN_EMAIL,
                        "--password-stdin"], input=h.ADMIN_PASSWORD + "\n", text=True, env=env,
                       check=True, capture_output=True)
        cpu = server.cpu() + _children_cpu()
        started = time.perf_counter()
        run = subprocess.run([h.PYTHON, "-m", "shopkit_cli.main", "seed", str(catalog)],
                             env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if run.returncode:
            raise SystemExit(f"shopkit seed failed: {run.stderr}")
        return {"s": elapsed, "cpu": server.cpu() + _children_cpu() - cpu}
    finally:
        server.stop()


def direct(work: Path, tag: str, rows: list[dict[str, Any]]) -> dict[str, float]:
    db = work / f"direct-{tag}.db"
    h.create_admin(h.shop_env(db))  # the schema, migrated, and nothing else
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("INSERT INTO categories (id, name, slug, parent_id, sort_order, created_at) "
                 "VALUES ('c' || hex(randomblob(11)), ?, 'audio', NULL, 0, ?)", (CATEGORY, now))
    cpu = time.process_time()
    started = time.perf_counter()
    seq = 0
    for at in range(0, len(rows), 500):
        chunk = rows[at:at + 500]
        conn.execute("BEGIN IMMEDIATE")
        products = []
        for row in chunk:
            seq += 1
            products.append((seq, f"{seq:024x}", row["sku"], row["name"], row["name"].casefold(),
                             row["description"], round(float(row["price"]) * 100),
                             row["category"], json.dumps(row["tags"]), None, row["stock"],
                             now, now))
        conn.executemany(
            "INSERT INTO products (seq, id, sku, name, name_key, description, price_cents, "
            "category, tags, image_url, stock, is_active, is_featured, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 0, ?, ?)", products)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    conn.close()
    return {"s": elapsed, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load_before = h.loadavg()
    work = Path(tempfile.mkdtemp(prefix="shopkit-bench-bulk-"))
    rows = rows_for(args.products)
    catalog = work / "catalog.csv"
    write_csv(catalog, rows)
    counter = iter(range(10**6))
    both = h.interleave(args.rounds, {
        "api": lambda: via_api(work, str(next(counter)), rows),
        "seed": lambda: via_seed(work, str(next(counter)), catalog),
        "direct": lambda: direct(work, str(next(counter)), rows),
    })
    got, cpu = both["s"], both["cpu"]
    api, seed, ref = got.median("api"), got.median("seed"), got.median("direct")
    api_cpu, seed_cpu, ref_cpu = cpu.median("api"), cpu.median("seed"), cpu.median("direct")
    body = [
        f"{args.products:,} products, {args.rounds} interleaved rounds on fresh stores, medians "
        "(range).",
        "",
        "| side | seconds | rows/s | ratio over direct | CPU s | CPU ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| `POST /api/products/bulk`, 500 rows a request | {api:.2f} ({got.spread('api')}) | "
        f"{args.products / api:,.0f} | **{h.ratio(api, ref)}** | {api_cpu:.2f} | "
        f"{h.ratio(api_cpu, ref_cpu)} |",
        f"| `shopkit seed catalog.csv` | {seed:.2f} ({got.spread('seed')}) | "
        f"{args.products / seed:,.0f} | **{h.ratio(seed, ref)}** | {seed_cpu:.2f} | "
        f"{h.ratio(seed_cpu, ref_cpu)} |",
        f"| direct executemany, same schema, 500 rows a transaction | {ref:.2f} "
        f"({got.spread('direct')}) | {args.products / ref:,.0f} | 1.00x | {ref_cpu:.2f} | "
        "1.00x |",
        "",
        "Goal: <= 1.3x (wall time). CPU s: the server's CPU plus the client's (this process for",
        "the API, the `shopkit seed` process for the seed), vs the reference's own; it moves",
        "less with the load of a shared machine than the wall time does (the server is pinned",
        "to core 0, the reference is not).",
    ]
    h.write_result("bulk_import", "Bulk import vs a direct executemany", body,
                   load_before=load_before)


if __name__ == "__main__":
    main()
