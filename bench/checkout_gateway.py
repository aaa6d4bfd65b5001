"""Checkout through the gateway (services apart, real nginx) vs all-in-one, in one run.

    uv run python bench/checkout_gateway.py [--buyers 32] [--seconds 8] [--rounds 3]

The cluster is the one tests/e2e/test_gateway.py starts: four ``shopkit serve --service NAME``
processes sharing one SQLite file, calling each other over HTTP, behind ``deploy/nginx.conf``
(rendered for the ports used). The all-in-one side is one ``shopkit serve`` on its own store.
Every server process runs on core 0, the load generator (bench/loadgen.py, the same buyers
as bench/checkout.py) on core 1; rounds alternate the sides; stock conservation is checked on
both stores afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness as h  # noqa: E402
from bench.checkout import conservation, run_load, seed_shop, shop_buyers  # noqa: E402

SERVICES = ("auth", "products", "cart", "orders")


def nginx_binary() -> str:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(found, os.X_OK):
        raise SystemExit("nginx is needed: apt-get install nginx")
    return found


def start_cluster(work: Path) -> tuple[list[h.Server], h.Server]:
    db = work / "cluster.db"
    ports = {service: h.free_port() for service in SERVICES}
    env = h.shop_env(db, **{f"SHOPKIT_{s.upper()}_URL": f"http://127.0.0.1:{p}"
                            for s, p in ports.items()})
    h.create_admin(env)
    services = [h.start([h.PYTHON, "-m", "shopkit_cli.main", "serve", "--service", name,
                         "--port", str(port)], env=env, port=port,
                        log=work / f"{name}.log") for name, port in ports.items()]
    conf = work / "gateway"
    conf.mkdir()
    gateway_port = h.free_port()
    shipped = (h.ROOT / "deploy" / "nginx.conf").read_text()
    (conf / "nginx.conf").write_text(
        shipped.replace("listen 8000;", f"listen 127.0.0.1:{gateway_port};"))
    (conf / "upstreams.conf").write_text("".join(
        f"upstream shopkit_{name} {{ server 127.0.0.1:{port}; keepalive 16; }}\n"
        for name, port in ports.items()))
    directives = f"daemon off; pid {conf / 'nginx.pid'};"
    if os.geteuid() == 0:
        directives += " user root;"
    nginx = nginx_binary()
    subprocess.run([nginx, "-t", "-p", str(conf), "-c", "nginx.conf", "-g", directives],
                   check=True, capture_output=True)
    gateway = h.start([nginx, "-p", str(conf), "-c", "nginx.conf", "-g", directives],
                      port=gateway_port, log=work / "nginx.log")
    return services, gateway


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--products", type=int, default=50)
    parser.add_argument("--stock", type=int, default=100_000)
    args = parser.parse_args()
    load_before = h.loadavg()
    work = Path(tempfile.mkdtemp(prefix="shopkit-bench-gateway-"))
    services, gateway = start_cluster(work)
    one = h.start_shop(work / "one.db")
    try:
        gw_products = seed_shop(gateway.base, args.products, args.stock)
        gw_buyers = shop_buyers(gateway.base, args.buyers)
        products = seed_shop(one.base, args.products, args.stock)
        buyers = shop_buyers(one.base, args.buyers)

        def cluster_cpu() -> float:
            return sum(s.cpu() for s in services)  # nginx workers not counted

        results = h.interleave(args.rounds, {
            "gateway": lambda: run_load(gateway, gw_buyers, gw_products, args.seconds, work,
                                        cluster_cpu),
            "one": lambda: run_load(one, buyers, products, args.seconds, work),
        })
    finally:
        for server in [gateway, *services, one]:
            server.stop()
    initial = args.stock * args.products
    gw_check = conservation(work / "cluster.db", initial, shop=True)
    one_check = conservation(work / "one.db", initial, shop=True)
    rate, cpu = results["orders/s"], results["server CPU ms/order"]
    body = [
        f"{args.buyers} buyers (as in bench/checkout.py), {args.seconds:g} s per side per round, "
        f"{args.rounds} interleaved rounds, medians (range). All server processes on core 0 "
        "(nginx as deploy/nginx.conf sets it), the load generator on core 1.",
        "",
        "| side | orders/s | CPU per order (shopkit processes; nginx not counted) |",
        "| --- | ---: | ---: |",
        f"| through nginx, four services apart | {rate.median('gateway'):,.0f} "
        f"({rate.spread('gateway')}) | {cpu.median('gateway'):.2f} ms |",
        f"| all-in-one `shopkit serve` | {rate.median('one'):,.0f} ({rate.spread('one')}) | "
        f"{cpu.median('one'):.2f} ms |",
        "",
        f"ratio gateway / all-in-one: **{h.ratio(rate.median('gateway'), rate.median('one'))}** "
        "(goal >= 0.6x)",
        "",
        f"Stock conservation, services apart: {gw_check}.",
        f"Stock conservation, all-in-one: {one_check}.",
    ]
    h.write_result("checkout_gateway", "Checkout through the gateway vs all-in-one", body,
                   load_before=load_before)


if __name__ == "__main__":
    main()
