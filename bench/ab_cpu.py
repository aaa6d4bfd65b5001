"""Server CPU per request of catalog reads: this tree against another tree's ``src``, interleaved.

    uv run python bench/ab_cpu.py --base-src DIR [--label NAME] [--rounds 5] [--seconds 5]

``DIR`` is another checkout's ``src`` (e.g. ``git archive <commit> src | tar -x -C /tmp/base``
gives ``/tmp/base/src``). Both sides serve copies of one catalog (bench/reads.py's: 10k products
in a category tree, a small category beside it), read cache off, on core 0; wrk (1 thread, 64
connections) on core 1. Per round and side, a fresh ``shopkit serve`` is warmed for 2 s, then
loaded for ``--seconds``: CPU seconds of the server process over the requests it answered.
Rounds alternate the order of the sides; medians and ranges over the rounds. A small change
hides in one run's noise on a shared machine, so this compares CPU, not req/s, over several
fresh processes per side.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness as h
from bench.reads import seed

CONNECTIONS = 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-src", required=True, type=Path)
    parser.add_argument("--label", default="base", help="what the base tree is, for the record")
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    base_src = args.base_src.resolve()
    if not (base_src / "shopkit_server").is_dir():
        raise SystemExit(f"{base_src} holds no shopkit_server package")
    load_before = h.loadavg()
    work = Path(tempfile.mkdtemp(prefix="shopkit-bench-ab-"))
    catalog = work / "catalog.db"
    server = h.start_shop(catalog, SHOPKIT_CATALOG_CACHE_SECONDS="0")
    try:
        seed(server.base, args.products)
    finally:
        server.stop()
    with sqlite3.connect(catalog) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM products ORDER BY seq")]
    paths = {
        "product by id": f"/api/products/{ids[len(ids) // 2]}",
        "category page": "/api/products?category=Audio",
    }
    trees = {args.label: str(base_src), "this tree": str(h.ROOT / "src")}
    for name in trees:
        shutil.copy(catalog, work / f"{name}.db")

    def measure(tree: str, path: str) -> dict[str, float]:
        os.environ["PYTHONPATH"] = trees[tree]
        try:
            shop = h.start_shop(work / f"{tree}.db", SHOPKIT_CATALOG_CACHE_SECONDS="0")
        finally:
            del os.environ["PYTHONPATH"]
        try:
            h.wrk(shop.base + path, connections=CONNECTIONS, seconds=2)
            before = shop.cpu()
            result = h.wrk(shop.base + path, connections=CONNECTIONS, seconds=args.seconds)
            used = shop.cpu() - before
        finally:
            shop.stop()
        return {"us/req": used / max(result.requests, 1) * 1e6, "req/s": result.rps}

    body = [
        f"Server CPU per request, read cache off, {args.products:,} products; per round and "
        f"side a fresh `shopkit serve` warmed 2 s, then wrk 1 thread x {CONNECTIONS} "
        f"connections for {args.seconds:g} s; {args.rounds} interleaved rounds, medians "
        "(range). `this tree` is the working tree; the other side runs the same commands with "
        f"`PYTHONPATH={base_src}`.",
        "",
        f"| read | {args.label}: CPU us/req | this tree: CPU us/req | this tree / {args.label} "
        "| req/s (medians) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, path in paths.items():
        got = h.interleave(
            args.rounds, {tree: (lambda t=tree, p=path: measure(t, p)) for tree in trees}
        )
        cpu, rps = got["us/req"], got["req/s"]
        a, b = cpu.median(args.label), cpu.median("this tree")
        body.append(
            f"| {label} (`GET {path}`) | {a:,.0f} ({cpu.spread(args.label)}) | "
            f"{b:,.0f} ({cpu.spread('this tree')}) | {h.ratio(b, a)} | "
            f"{rps.median(args.label):,.0f} vs {rps.median('this tree'):,.0f} |"
        )
    h.write_result("ab_cpu", "CPU per request of catalog reads, two trees interleaved", body,
                   load_before=load_before)


if __name__ == "__main__":
    main()
