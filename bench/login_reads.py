"""GET p99 while 8 logins/s run (bcrypt cost 12) vs the same reads alone.

    uv run python bench/login_reads.py [--seconds 6] [--rounds 3] [--rate 8] [--clients 8]

One ``shopkit serve`` (SQLite, read cache on, ``SHOPKIT_BCRYPT_ROUNDS=12`` and every other
setting at its default but ``SHOPKIT_LOGIN_ATTEMPTS_PER_ADDRESS=0`` and
``SHOPKIT_PASSWORD_CHECKS_PER_ADDRESS=10000``, since every login comes from one address: the
password hasher's capacity limiter, not the per-address caps, bounds them) on core 0. Each round: wrk (1 thread, ``--clients`` connections, on
core 1) reads ``GET /api/products/{id}`` for ``--seconds`` alone, then again while
bench/loadgen.py runs an open loop of ``--rate`` logins a second (also on core 1). p99 of
the reads, medians of the rounds; the two cases alternate.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness as h  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=8)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    load_before = h.loadavg()
    work = Path(tempfile.mkdtemp(prefix="shopkit-bench-logins-"))
    shop = h.start_shop(work / "shop.db", SHOPKIT_BCRYPT_ROUNDS="12",
                        SHOPKIT_LOGIN_ATTEMPTS_PER_ADDRESS="0",
                        SHOPKIT_PASSWORD_CHECKS_PER_ADDRESS="10000")
    try:
        token = h.admin_token(shop.base)
        h.ensure_category(shop.base, token, "Audio")
        h.bulk_import(shop.base, token, h.generated_rows(200))
        import httpx

        pid = httpx.get(f"{shop.base}/api/products", params={"page_size": 1}).json()["items"][0]["id"]
        url = f"{shop.base}/api/products/{pid}"
        port = int(shop.base.rsplit(":", 1)[1])
        spec = work / "logins.json"
        spec.write_text(json.dumps({
            "host": "127.0.0.1", "port": port, "path": "/api/auth/login", "rate": args.rate,
            "seconds": args.seconds + 1,
            "body": {"email": h.ADMIN_EMAIL, "password": h.ADMIN_PASSWORD}}))
        h.wrk(url, connections=args.clients, seconds=1)
        logins: list[dict[str, float]] = []

        def alone() -> dict[str, float]:
            got = h.wrk(url, connections=args.clients, seconds=args.seconds)
            return {"p99": got.p99_ms, "p50": got.p50_ms, "req/s": got.rps}

        def with_logins() -> dict[str, float]:
            gen = subprocess.Popen(h.pinned(1, [h.PYTHON, "-m", "bench.loadgen", "logins",
                                                str(spec)]), cwd=h.ROOT, stdout=subprocess.PIPE,
                                   text=True)
            try:
                got = h.wrk(url, connections=args.clients, seconds=args.seconds)
            finally:
                out, _ = gen.communicate(timeout=120)
            logins.append(json.loads(out))
            return {"p99": got.p99_ms, "p50": got.p50_ms, "req/s": got.rps}

        got = h.interleave(args.rounds, {"logins": with_logins, "alone": alone})
    finally:
        shop.stop()
    p99, p50, rps = got["p99"], got["p50"], got["req/s"]
    done = sum(run["ok"] for run in logins) / sum(run["seconds"] for run in logins)
    errors = sum(run["errors"] for run in logins)
    body = [
        f"`GET /api/products/{{id}}` (read cache on), wrk 1 thread x {args.clients} connections, "
        f"{args.seconds:g} s per side, {args.rounds} interleaved rounds, medians; logins: an "
        f"open loop of {args.rate:g}/s, bcrypt cost 12 (achieved {done:.1f}/s, {errors} failed, "
        f"login p50 {sorted(r['p50_ms'] for r in logins)[len(logins) // 2]:.0f} ms).",
        "",
        "| case | reads/s | read p50 | read p99 |",
        "| --- | ---: | ---: | ---: |",
        f"| reads while {args.rate:g} logins/s run | {rps.median('logins'):,.0f} | "
        f"{p50.median('logins'):.1f} ms | {p99.median('logins'):.1f} ms ({p99.spread('logins')}) |",
        f"| reads alone | {rps.median('alone'):,.0f} | {p50.median('alone'):.1f} ms | "
        f"{p99.median('alone'):.1f} ms ({p99.spread('alone')}) |",
        "",
        f"p99 ratio: **{h.ratio(p99.median('logins'), p99.median('alone'))}** (goal <= 3x)",
    ]
    h.write_result("login_reads", "GET p99 while logins run vs reads alone", body,
                   load_before=load_before)


if __name__ == "__main__":
    main()
