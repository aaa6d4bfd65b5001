"""A small closed-loop HTTP/1.1 load generator for the write benchmarks (run as its own process).

    python -m bench.loadgen checkout SPEC.json     # prints one JSON line

wrk cannot log buyers in and walk a cart then a checkout per connection, and httpx costs more
CPU per request than the servers measured here, so this speaks HTTP/1.1 keep-alive over
asyncio streams directly (Content-Length or chunked replies). SPEC:

``{"host", "port", "prefix", "buyers": [{"headers": {...}, "cart": path, "order": path}],
"products": [...ids], "seconds", "body": {...}}``: each buyer adds a random product to its cart,
then places an order with a fresh ``Idempotency-Key``, again and again for ``seconds``.

``python -m bench.loadgen logins SPEC.json``: ``{"host", "port", "path", "body", "rate",
"seconds"}``, an open loop of ``rate`` logins a second.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from typing import Any


class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any = None,
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                f"Content-Length: {len(payload)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and "close" in value.lower():
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                data = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(data[:-2])
            data = b"".join(parts)
        else:
            data = await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.writer = None
        return status, data


async def checkout(spec: dict[str, Any]) -> dict[str, Any]:
    products: list[str] = spec["products"]
    deadline = time.monotonic() + float(spec["seconds"])
    counts = {"orders": 0, "refused": 0, "errors": 0}
    samples: list[str] = []

    async def buyer(index: int, who: dict[str, Any]) -> None:
        conn = Conn(spec["host"], spec["port"])
        rnd = random.Random(index)
        n = 0
        while time.monotonic() < deadline:
            n += 1
            status, body = await conn.request(
                "POST", who["cart"], {"product_id": rnd.choice(products), "quantity": 1},
                who["headers"])
            if status != 200:
                counts["errors"] += 1
                samples.append(f"cart {status} {body[:200]!r}")
                continue
            headers = {**who["headers"], "Idempotency-Key": f"bench-{index}-{n}-{time.time_ns()}"}
            status, body = await conn.request("POST", who["order"], spec["body"], headers)
            if status == 201:
                counts["orders"] += 1
            elif status == 409:
                counts["refused"] += 1
            else:
                counts["errors"] += 1
                samples.append(f"order {status} {body[:200]!r}")

    started = time.monotonic()
    await asyncio.gather(*(buyer(i, who) for i, who in enumerate(spec["buyers"])))
    return {**counts, "seconds": time.monotonic() - started, "samples": samples[:5]}


async def logins(spec: dict[str, Any]) -> dict[str, Any]:
    """Open loop: start a login every ``1 / rate`` s for ``seconds``, whatever the replies."""
    counts = {"ok": 0, "errors": 0}
    latencies: list[float] = []

    async def one() -> None:
        conn = Conn(spec["host"], spec["port"])
        started = time.monotonic()
        status, _ = await conn.request("POST", spec["path"], spec["body"])
        latencies.append(time.monotonic() - started)
        counts["ok" if status == 200 else "errors"] += 1
        if conn.writer is not None:
            conn.writer.close()

    tasks = []
    started = time.monotonic()
    interval = 1 / float(spec["rate"])
    n = 0
    while time.monotonic() - started < float(spec["seconds"]):
        tasks.append(asyncio.ensure_future(one()))
        n += 1
        await asyncio.sleep(max(0.0, started + n * interval - time.monotonic()))
    await asyncio.gather(*tasks)
    latencies.sort()
    return {**counts, "sent": n, "seconds": time.monotonic() - started,
            "p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else 0}


def main() -> None:
    mode, path = sys.argv[1], sys.argv[2]
    with open(path) as handle:
        spec = json.load(handle)
    modes = {"checkout": checkout, "logins": logins}
    if mode not in modes:
        raise SystemExit(f"unknown mode {mode}")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(modes[mode](spec))))


if __name__ == "__main__":
    main()
