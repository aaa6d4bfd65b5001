"""Catalog reads, three rows of issue 11 on one generated catalog (10k products by default).

    uv run python bench/reads.py [--products 10000] [--seconds 4] [--rounds 3] [--only ROW]

Rows (each written to its own bench/results/<row>.md):

- ``product_by_id``: ``GET /api/products/{id}`` with the read cache off, vs the same SQL in a
  raw FastAPI + aiosqlite app (bench/ref_app.py) and vs a bare FastAPI hello world.
- ``random_ids``: ``GET /api/products/{id}`` over random ids of the whole catalog (the long
  tail), read cache on vs off.
- ``category_page``: a 20-item page of a category (and its subcategories) holding every
  product, cache off, vs a bare FastAPI endpoint returning a fixed page of the same size
  (bench/bare_app.py ``/page``); and the same page while a small category of the same shape
  (five names, 25 of the oldest products) is read ten times a second beside it, as a shop's
  small categories are. That page walks the newest-first index a long way, spends the loop's
  budget and goes to a pooled reader (``Database.read_bounded``).

Servers run on core 0, wrk (1 thread, 64 connections) on core 1; rounds interleave the sides
and report medians.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness as h  # noqa: E402

CONNECTIONS = 64


SMALL = 25  # products of the small category, added before the others (the oldest)


def seed(base: str, count: int) -> None:
    token = h.admin_token(base)
    root = h.ensure_category(base, token, "Audio")
    children = [h.ensure_category(base, token, f"Audio {i}", root) and f"Audio {i}"
                for i in range(4)]
    tiny = h.ensure_category(base, token, "Tiny")
    tiny_children = [h.ensure_category(base, token, f"Tiny {i}", tiny) and f"Tiny {i}"
                     for i in range(4)]
    small = h.generated_rows(SMALL, start=count)
    for i, row in enumerate(small):
        row["category"] = tiny_children[i % len(tiny_children)]
    h.bulk_import(base, token, small)
    rows = []
    for i, row in enumerate(h.generated_rows(count)):
        row["category"] = children[i % len(children)] if i % 5 else "Audio"
        rows.append(row)
    h.bulk_import(base, token, rows)


def beside_small_pages(small_url: str, run: Callable[[], dict[str, float]]) -> dict[str, float]:
    """``run()`` while another thread reads ``small_url`` ten times a second (each must be a
    full page of the small category)."""
    stop = threading.Event()
    failures: list[str] = []

    def reader() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.wait(0.1):
                reply = client.get(small_url)
                if reply.status_code != 200 or len(reply.json()["items"]) != 20:
                    failures.append(f"{reply.status_code} {reply.text[:200]}")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        return run()
    finally:
        stop.set()
        thread.join()
        if failures:
            raise SystemExit(f"{small_url}: {failures[:3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["product_by_id", "random_ids", "category_page"])
    args = parser.parse_args()
    load_before = h.loadavg()
    work = Path(tempfile.mkdtemp(prefix="shopkit-bench-reads-"))
    db = work / "shop.db"
    off = h.start_shop(db, SHOPKIT_CATALOG_CACHE_SECONDS="0")
    servers = [off]
    try:
        seed(off.base, args.products)
        with sqlite3.connect(db) as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM products")]
        one = ids[len(ids) // 2]
        paths = work / "paths.txt"
        paths.write_text("".join(f"/api/products/{pid}\n" for pid in ids))
        on = h.start_shop(db, SHOPKIT_CATALOG_CACHE_SECONDS="2")
        servers.append(on)
        ref = h.start_app("bench.ref_app:app", env={"BENCH_DB": str(db)}, health="/hello")
        servers.append(ref)
        bare = h.start_app("bench.bare_app:app", health="/hello")
        servers.append(bare)

        def rps(url: str, **kw: object) -> dict[str, float]:
            result = h.wrk(url, connections=CONNECTIONS, seconds=args.seconds, **kw)  # type: ignore[arg-type]
            return {"req/s": result.rps, "p99 ms": result.p99_ms}

        rows = [args.only] if args.only else ["product_by_id", "random_ids", "category_page"]
        if "product_by_id" in rows:
            for url in (f"{off.base}/api/products/{one}", f"{ref.base}/products/{one}",
                        f"{bare.base}/hello"):
                h.wrk(url, connections=CONNECTIONS, seconds=1)  # warm-up
            got = h.interleave(args.rounds, {
                "shopkit": lambda: rps(f"{off.base}/api/products/{one}"),
                "raw": lambda: rps(f"{ref.base}/products/{one}"),
                "hello": lambda: rps(f"{bare.base}/hello"),
            })["req/s"]
            s, r, b = got.median("shopkit"), got.median("raw"), got.median("hello")
            h.write_result("product_by_id", "GET product by id, cache off, vs raw FastAPI + "
                           "aiosqlite and a bare hello world", [
                f"{args.products:,} products, one id, wrk 1 thread x {CONNECTIONS} connections, "
                f"{args.seconds:g} s per side, {args.rounds} interleaved rounds, medians.",
                "",
                "| side | req/s |",
                "| --- | ---: |",
                f"| shopkit `GET /api/products/{{id}}`, `SHOPKIT_CATALOG_CACHE_SECONDS=0` | "
                f"{s:,.0f} ({got.spread('shopkit')}) |",
                f"| raw FastAPI + aiosqlite, the same SQL | {r:,.0f} ({got.spread('raw')}) |",
                f"| bare FastAPI hello world | {b:,.0f} ({got.spread('hello')}) |",
                "",
                f"ratio shopkit / raw: **{h.ratio(s, r)}** (goal >= 0.9x); shopkit / bare: "
                f"**{h.ratio(s, b)}** (goal >= 0.4x)",
            ], load_before=load_before)
        if "random_ids" in rows:
            env = {"BENCH_PATHS": str(paths)}
            for server in (on, off):
                h.wrk(f"{server.base}/", connections=CONNECTIONS, seconds=1, env=env)
            got = h.interleave(args.rounds, {
                "on": lambda: rps(f"{on.base}/", env=env),
                "off": lambda: rps(f"{off.base}/", env=env),
            })["req/s"]
            a, b = got.median("on"), got.median("off")
            h.write_result("random_ids", "Random product ids (long tail), read cache on vs off", [
                f"`GET /api/products/{{id}}` with an id drawn at random from all {len(ids):,} "
                f"products per request (bench/wrk_report.lua), wrk 1 thread x {CONNECTIONS} "
                f"connections, {args.seconds:g} s per side, {args.rounds} interleaved rounds.",
                "",
                "| side | req/s |",
                "| --- | ---: |",
                f"| cache on (`SHOPKIT_CATALOG_CACHE_SECONDS=2`, the default) | {a:,.0f} "
                f"({got.spread('on')}) |",
                f"| cache off (`SHOPKIT_CATALOG_CACHE_SECONDS=0`) | {b:,.0f} ({got.spread('off')}) |",
                "",
                f"ratio on / off: **{h.ratio(a, b)}** (goal >= 0.9x of the uncached read)",
            ], load_before=load_before)
        if "category_page" in rows:
            url = f"{off.base}/api/products?category=Audio"
            h.wrk(url, connections=CONNECTIONS, seconds=1)
            got = h.interleave(args.rounds, {
                "shopkit": lambda: rps(url),
                "bare": lambda: rps(f"{bare.base}/page"),
                "mixed": lambda: beside_small_pages(f"{off.base}/api/products?category=Tiny",
                                                    lambda: rps(url)),
            })["req/s"]
            a, b, m = got.median("shopkit"), got.median("bare"), got.median("mixed")
            h.write_result("category_page", "20-item category page, cache off, vs a bare page", [
                f"`GET /api/products?category=Audio`: page 1 of 20, newest first, exact total, "
                f"of a category holding all {args.products:,} products (in it and 4 "
                f"subcategories); wrk 1 thread x {CONNECTIONS} connections, {args.seconds:g} s "
                f"per side, {args.rounds} interleaved rounds.",
                "",
                "| side | req/s |",
                "| --- | ---: |",
                f"| shopkit, `SHOPKIT_CATALOG_CACHE_SECONDS=0` | {a:,.0f} ({got.spread('shopkit')}) |",
                f"| bare FastAPI, a fixed 20-item page (bench/bare_app.py `/page`) | {b:,.0f} "
                f"({got.spread('bare')}) |",
                f"| shopkit, the same page while `?category=Tiny` ({SMALL} of the oldest "
                f"products, five names too) is read 10 times a second | {m:,.0f} "
                f"({got.spread('mixed')}) |",
                "",
                f"ratio shopkit / bare: **{h.ratio(a, b)}** (goal >= 0.5x); with the small "
                f"category read beside it / alone: {h.ratio(m, a)}",
            ], load_before=load_before)
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main()
