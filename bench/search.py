"""Broad search: one word matching 97% of the catalog, shopkit vs a plain FTS5 query.

    uv run python bench/search.py [--products 20000] [--seconds 4] [--rounds 3]
    uv run python bench/search.py --products 100000        # the issue's size (slower to load)

Two rows of issue 11, each to its own result file:

- ``search_broad``: one client (wrk -c1), read cache off, ``GET /api/products/search?q=wireless``
  and the prefix ``q=wirel``, p50/p95, vs the plain FTS5 query on the same SQLite file (the
  best 20 by bm25, ``SELECT rowid FROM products_fts WHERE products_fts MATCH ? ORDER BY rank
  LIMIT 20``) timed in this process, p50/p95. Rounds interleave the sides.
- ``search_concurrent``: the same query with 64 concurrent clients, read cache on: p99 and
  req/s vs one client on the same server.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness as h  # noqa: E402


def seed(base: str, count: int) -> None:
    token = h.admin_token(base)
    h.ensure_category(base, token, "Audio")
    rows = h.generated_rows(count)
    for i, row in enumerate(rows):
        word = "wireless" if i % 100 >= 3 else "corded"  # 97% match "wireless"
        row["name"] = f"{word.title()} {row['name']}".replace("Wireless wireless", "Wireless")
        row["description"] = f"{word} " + row["description"].replace("wireless", "cabled")
        row["tags"] = [t for t in row["tags"] if t != "wireless"]
    h.bulk_import(base, token, rows)


def plain_fts(db: Path, term: str, runs: int) -> list[float]:
    with sqlite3.connect(db) as conn:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            conn.execute("SELECT rowid FROM products_fts WHERE products_fts MATCH ? "
                         "ORDER BY rank LIMIT 20", (term,)).fetchall()
            times.append((time.perf_counter() - started) * 1000)
    return times


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load_before = h.loadavg()
    work = Path(tempfile.mkdtemp(prefix="shopkit-bench-search-"))
    db = work / "shop.db"
    off = h.start_shop(db, SHOPKIT_CATALOG_CACHE_SECONDS="0")
    on = None
    try:
        started = time.perf_counter()
        seed(off.base, args.products)
        print(f"loaded {args.products:,} products in {time.perf_counter() - started:.1f} s")
        with sqlite3.connect(db) as conn:
            matching = conn.execute("SELECT COUNT(*) FROM products_fts WHERE products_fts MATCH "
                                    "'wireless'").fetchone()[0]
        on = h.start_shop(db, SHOPKIT_CATALOG_CACHE_SECONDS="2")
        cases = {"wireless": "wireless", "wirel": "wirel*"}
        rows = []
        for q, fts in cases.items():
            url = f"{off.base}/api/products/search?q={q}"
            h.wrk(url, connections=1, seconds=1)

            def shop_side(url: str = url) -> dict[str, float]:
                got = h.wrk(url, connections=1, seconds=args.seconds)
                return {"p50": got.p50_ms, "p95": got.p95_ms}

            def plain_side(fts: str = fts) -> dict[str, float]:
                times = plain_fts(db, fts, 30)
                return {"p50": pct(times, 50), "p95": pct(times, 95)}

            got = h.interleave(args.rounds, {"shopkit": shop_side, "plain": plain_side})
            rows.append((q, got["p50"], got["p95"]))
        body = [
            f"{args.products:,} products, {matching:,} of them ({matching / args.products:.0%}) "
            f"match `wireless`; shopkit: wrk 1 thread, 1 connection, {args.seconds:g} s per "
            f"round, read cache off; plain: 30 runs per round through Python's sqlite3 on the "
            f"same file; {args.rounds} interleaved rounds, medians of the per-round "
            "percentiles.",
            "",
            "| query | shopkit p50 | shopkit p95 | plain FTS5 p50 | plain FTS5 p95 | p50 ratio |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for q, p50, p95 in rows:
            body.append(f"| `q={q}` | {p50.median('shopkit'):.1f} ms | "
                        f"{p95.median('shopkit'):.1f} ms | {p50.median('plain'):.1f} ms | "
                        f"{p95.median('plain'):.1f} ms | "
                        f"{h.ratio(p50.median('shopkit'), p50.median('plain'))} |")
        body += ["", "Goal: p95 <= 50 ms for any one-word or prefix query at 100k products."]
        h.write_result("search_broad", "Broad one-word search vs a plain FTS5 query", body,
                       load_before=load_before)

        load_before = h.loadavg()
        url = f"{on.base}/api/products/search?q=wireless"
        h.wrk(url, connections=64, seconds=1)

        def clients(n: int) -> dict[str, float]:
            got = h.wrk(url, connections=n, seconds=args.seconds)
            return {"req/s": got.rps, "p99": got.p99_ms}

        got = h.interleave(args.rounds, {"64": lambda: clients(64), "1": lambda: clients(1)})
        rps, p99 = got["req/s"], got["p99"]
        body = [
            f"`GET /api/products/search?q=wireless` on {args.products:,} products, read cache on "
            f"(2 s), wrk 1 thread, {args.seconds:g} s per side, {args.rounds} interleaved rounds.",
            "",
            "| clients | req/s | p99 |",
            "| --- | ---: | ---: |",
            f"| 64 | {rps.median('64'):,.0f} | {p99.median('64'):.1f} ms ({p99.spread('64')}) |",
            f"| 1 | {rps.median('1'):,.0f} | {p99.median('1'):.1f} ms ({p99.spread('1')}) |",
            "",
            f"p99 64 clients / 1 client: **{h.ratio(p99.median('64'), p99.median('1'))}** "
            "(goal: no stampede, within 3x)",
        ]
        h.write_result("search_concurrent", "Broad search, 64 concurrent clients, cache on",
                       body, load_before=load_before)
    finally:
        off.stop()
        if on:
            on.stop()


if __name__ == "__main__":
    main()
