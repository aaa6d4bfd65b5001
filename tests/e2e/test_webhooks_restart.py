"""A real `shopkit serve` killed with SIGKILL mid-delivery sends the event again after restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

import shopkit.webhooks
from tests.e2e.procs import SHOPKIT, free_port, start, stop, wait_healthy

pytestmark = pytest.mark.e2e


class Receiver:
    """A local endpoint: the first delivery hangs (the shop is killed meanwhile)."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.received: list[tuple[dict[str, Any], dict[str, str], bytes]] = []
        self.hang_first = True
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    hang, receiver.hang_first = receiver.hang_first, False
                if hang:
                    receiver.arrived.set()
                    receiver.release.wait(30)
                    return  # never answers: the shop is gone by now
                with receiver.lock:
                    receiver.received.append((json.loads(body), dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKIT_")}
    return env | {
        "SHOPKIT_BCRYPT_ROUNDS": "4",
        "SHOPKIT_LOG_JSON": "true",
        "SHOPKIT_WEBHOOKS_ALLOW_PRIVATE": "true",
        "SHOPKIT_WEBHOOKS_POLL_SECONDS": "0.1",
        "SHOPKIT_WEBHOOKS_TIMEOUT_SECONDS": "1",
        "SHOPKIT_CATALOG_CACHE_SECONDS": "0",
    }


def _serve(tmp_path: Path, port: int, name: str) -> subprocess.Popen[bytes]:
    proc = start(
        [*SHOPKIT, "serve", "--port", str(port)], env=_env(), cwd=tmp_path, log=tmp_path / name
    )
    wait_healthy(f"http://127.0.0.1:{port}/health", proc)
    return proc


def test_a_kill_9_mid_delivery_sends_the_event_again_after_restart(tmp_path: Path) -> None:
    created = subprocess.run(
        [
            *SHOPKIT,
            "users",
            "create-admin",
            "--email",
            "boss@example.com",
            "--password",
            "admin password 1",
        ],
        env=_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    receiver = Receiver()
    port = free_port()
    base = f"http://127.0.0.1:{port}/api"
    proc = _serve(tmp_path, port, "serve-1.log")
    try:
        login = httpx.post(
            f"{base}/auth/login", json={"email": "boss@example.com", "password": "admin password 1"}
        )
        admin = {"Authorization": f"Bearer {login.json()['tokens']['access_token']}"}
        hook = httpx.post(f"{base}/webhooks", json={"url": receiver.url}, headers=admin)
        assert hook.status_code == 201, hook.text
        secret = hook.json()["secret"]
        assert (
            httpx.post(f"{base}/categories", json={"name": "Audio"}, headers=admin).status_code
            == 201
        )
        product = httpx.post(
            f"{base}/products",
            json={
                "name": "Headphones",
                "description": "Loud.",
                "price": "25.00",
                "category": "Audio",
                "stock": 3,
            },
            headers=admin,
        ).json()
        httpx.post(
            f"{base}/auth/register",
            json={"email": "c@example.com", "password": "customer pw 1", "name": "C"},
        )
        tokens = httpx.post(
            f"{base}/auth/login", json={"email": "c@example.com", "password": "customer pw 1"}
        ).json()
        customer = {"Authorization": f"Bearer {tokens['tokens']['access_token']}"}
        httpx.post(
            f"{base}/cart/items",
            json={"product_id": product["id"], "quantity": 1},
            headers=customer,
        )
        order = httpx.post(
            f"{base}/orders",
            json={
                "shipping_address": {
                    "full_name": "C",
                    "address_line1": "1 Road",
                    "city": "Lahore",
                    "postal_code": "54000",
                    "country": "PK",
                    "phone": "+92 300 1234567",
                }
            },
            headers=customer,
        )
        assert order.status_code == 201, order.text
        assert receiver.arrived.wait(20), "the dispatcher never tried to deliver"
        os.killpg(proc.pid, signal.SIGKILL)  # mid-delivery: the receiver has not answered
        proc.wait(10)

        proc = _serve(tmp_path, port, "serve-2.log")
        deadline = time.monotonic() + 30
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert receiver.received, "the event was not delivered after the restart"
        event, headers, body = receiver.received[0]
        verified = shopkit.webhooks.verify(body, headers["Shopkit-Signature"], secret)
        assert verified == event
        assert (event["type"], event["data"]["order"]["id"]) == ("order.placed", order.json()["id"])
        assert headers["Shopkit-Event-Id"] == event["id"]
        deliveries = httpx.get(
            f"{base}/webhooks/{hook.json()['id']}/deliveries", headers=admin
        ).json()
        (delivery,) = deliveries["items"]
        assert (delivery["state"], delivery["attempts"]) == ("delivered", 2)
    finally:
        stop(proc)
        receiver.close()
