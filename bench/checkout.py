"""Checkout, all-in-one: shopkit vs a minimal FastAPI + aiosqlite app, 32 buyers, one run.

    uv run python bench/checkout.py [--buyers 32] [--seconds 8] [--rounds 3]

Each buyer (its own keep-alive connection, bench/loadgen.py on core 1) adds a random product
to its cart, then places an order with a fresh ``Idempotency-Key``, for ``--seconds``; the
server runs on core 0. shopkit is ``shopkit serve`` (all services in one process, SQLite);
the reference (bench/ref_app.py) does the same writes in one ``BEGIN IMMEDIATE``. Rounds
alternate the two; orders/s and server CPU per order are medians. After the rounds, stock
conservation is checked on both stores: initial stock = remaining + sold.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness as h  # noqa: E402

ADDRESS = {"full_name": "Ayesha Khan", "address_line1": "12 Clifton Rd", "city": "Karachi",
           "postal_code": "75500", "country": "PK", "phone": "+92 300 1234567"}


def run_load(server: h.Server, buyers: list[dict[str, Any]], products: list[str],
             seconds: float, work: Path, cpu_of: Callable[[], float] | None = None
             ) -> dict[str, float]:
    port = int(server.base.rsplit(":", 1)[1])
    spec = {"host": "127.0.0.1", "port": port, "buyers": buyers, "products": products,
            "seconds": seconds, "body": {"shipping_address": ADDRESS}}
    path = work / f"spec-{port}.json"
    path.write_text(json.dumps(spec))
    cpu = cpu_of or server.cpu
    before = cpu()
    run = subprocess.run(h.pinned(1, [h.PYTHON, "-m", "bench.loadgen", "checkout", str(path)]),
                         capture_output=True, text=True, cwd=h.ROOT, check=True)
    used = cpu() - before
    out = json.loads(run.stdout)
    if out["errors"]:
        raise SystemExit(f"{server.base}: {out['errors']} failed requests: {out['samples']}")
    orders = max(out["orders"], 1)
    return {"orders/s": out["orders"] / out["seconds"], "server CPU ms/order": used / orders * 1000}


def shop_buyers(base: str, count: int) -> list[dict[str, Any]]:
    buyers = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(count):
            reply = client.post("/api/auth/register", json={
                "email": f"buyer-{i}@example.com", "password": "buyer password", "name": "B"})
            reply.raise_for_status()
            token = reply.json()["tokens"]["access_token"]
            buyers.append({"headers": {"Authorization": f"Bearer {token}"},
                           "cart": "/api/cart/items", "order": "/api/orders"})
    return buyers


def seed_shop(base: str, products: int, stock: int) -> list[str]:
    token = h.admin_token(base)
    h.ensure_category(base, token, "Audio")
    h.bulk_import(base, token, h.generated_rows(products, stock=stock))
    ids: list[str] = []
    page = 1
    while True:
        reply = httpx.get(f"{base}/api/products", params={"page": page, "page_size": 100})
        body = reply.json()
        ids += [item["id"] for item in body["items"]]
        if not body["has_next"]:
            return ids
        page += 1


def conservation(db: Path, initial: int, *, shop: bool) -> str:
    with sqlite3.connect(db) as conn:
        remaining = conn.execute("SELECT SUM(stock) FROM products").fetchone()[0]
        sold = conn.execute("SELECT COALESCE(SUM(quantity), 0) FROM order_items").fetchone()[0]
        orders = conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
        if shop:  # every order here stays pending: none gave its stock back
            cancelled = conn.execute(
                "SELECT COUNT(*) FROM orders WHERE status = 'cancelled'").fetchone()[0]
            assert cancelled == 0, cancelled
    ok = initial == remaining + sold
    verdict = "holds" if ok else "BROKEN"
    line = (f"initial {initial:,} = remaining {remaining:,} + sold {sold:,} "
            f"({orders:,} orders): {verdict}")
    if not ok:
        raise SystemExit(f"stock conservation broken on {db}: {line}")
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--products", type=int, default=50)
    parser.add_argument("--stock", type=int, default=100_000)
    args = parser.parse_args()
    load_before = h.loadavg()
    work = Path(tempfile.mkdtemp(prefix="shopkit-bench-checkout-"))
    shop = h.start_shop(work / "shop.db")
    ref = None
    try:
        products = seed_shop(shop.base, args.products, args.stock)
        buyers = shop_buyers(shop.base, args.buyers)
        ref_db = work / "ref.db"
        from bench.ref_app import create_schema

        create_schema(str(ref_db), [(pid, f"P {i}", 1099, args.stock)
                                    for i, pid in enumerate(products)])
        ref = h.start_app("bench.ref_app:app", env={"BENCH_REF_DB": str(ref_db)}, health="/hello")
        ref_buyers = [{"headers": {}, "cart": f"/cart/u{i}/items", "order": f"/orders/u{i}"}
                      for i in range(args.buyers)]
        initial = args.stock * len(products)
        results = h.interleave(args.rounds, {
            "shopkit": lambda: run_load(shop, buyers, products, args.seconds, work),
            "reference": lambda: run_load(ref, ref_buyers, products, args.seconds, work),
        })
    finally:
        shop.stop()
        if ref:
            ref.stop()
    shop_check = conservation(work / "shop.db", initial, shop=True)
    ref_check = conservation(ref_db, initial, shop=False)
    rate, cpu = results["orders/s"], results["server CPU ms/order"]
    body = [
        f"{args.buyers} buyers, each: add a random one of {len(products)} products to the cart, "
        f"then `POST /orders` with a new Idempotency-Key; {args.seconds:g} s per side per round, "
        f"{args.rounds} interleaved rounds, medians (range in brackets). Server on core 0, "
        "load generator (bench/loadgen.py) on core 1.",
        "",
        "| side | orders/s | server CPU per order |",
        "| --- | ---: | ---: |",
        f"| shopkit all-in-one (`shopkit serve`, SQLite) | {rate.median('shopkit'):,.0f} "
        f"({rate.spread('shopkit')}) | {cpu.median('shopkit'):.2f} ms |",
        f"| minimal FastAPI + aiosqlite, one `BEGIN IMMEDIATE` | {rate.median('reference'):,.0f} "
        f"({rate.spread('reference')}) | {cpu.median('reference'):.2f} ms |",
        "",
        f"ratio shopkit / reference: **{h.ratio(rate.median('shopkit'), rate.median('reference'))}**"
        " (goal >= 0.8x)",
        "",
        f"Stock conservation, shopkit: {shop_check}.",
        f"Stock conservation, reference: {ref_check}.",
    ]
    h.write_result("checkout", "Checkout, all-in-one, vs a minimal FastAPI + aiosqlite app", body,
                   load_before=load_before)


if __name__ == "__main__":
    main()
