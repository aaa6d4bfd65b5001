"""Two `shopkit serve` processes sharing one SQLite file and one real Redis.

What the in-process tests (tests/server/replicas/) show with two apps in one event loop, here
across real processes: a catalog write on one drops the other's cache (TTL 300 s, so only the
published invalidation explains a fresh read), a deactivation on one is refused on the other,
and failed logins count across both. A process applies a message when its loop reads it, a
moment after the write answered: the reads below wait for it, bounded far below the TTL.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.e2e.procs import SHOPKIT, free_port, start, stop, wait_healthy

pytestmark = pytest.mark.e2e
SECRET = "e2e-redis-secret-" + "y" * 40
ADMIN = ("admin@example.com", "admin password 1")
BOUND = 10.0  # seconds: far below the 300 s TTL


@pytest.fixture
def replicas(redis_url: str, tmp_path: Path) -> Iterator[list[str]]:
    prefix = f"shopkit-test-{uuid.uuid4().hex[:12]}:"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKIT_")} | {
        "SHOPKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'shop.db'}",
        "SHOPKIT_JWT_SECRET_KEY": SECRET,
        "SHOPKIT_BCRYPT_ROUNDS": "4",
        "SHOPKIT_REDIS_URL": redis_url,
        "SHOPKIT_REDIS_PREFIX": prefix,
        "SHOPKIT_CATALOG_CACHE_SECONDS": "300",
        "SHOPKIT_LOGIN_BACKOFF_SECONDS": "600",
        "SHOPKIT_LOG_JSON": "true",
    }
    created = subprocess.run(
        [*SHOPKIT, "users", "create-admin", "--email", ADMIN[0], "--password", ADMIN[1]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    procs: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    try:
        for n in range(2):
            port = free_port()
            procs.append(
                start(
                    [*SHOPKIT, "serve", "--port", str(port)],
                    env=env,
                    log=tmp_path / f"replica{n}.log",
                )
            )
            bases.append(f"http://127.0.0.1:{port}/api")
        for proc, base in zip(procs, bases, strict=True):
            wait_healthy(f"{base}/health", proc)
        yield bases
    finally:
        for proc in procs:
            stop(proc)
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


def _login(base: str, email: str, password: str) -> httpx.Response:
    return httpx.post(f"{base}/auth/login", json={"email": email, "password": password})


def _within(bound: float, check: Callable[[], bool]) -> bool:
    """Whether ``check()`` holds within ``bound`` seconds (a message on its way)."""
    deadline = time.monotonic() + bound
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_two_processes_share_invalidations_accounts_and_throttling(
    replicas: list[str],
) -> None:
    one, two = replicas
    login = _login(one, *ADMIN)
    assert login.status_code == 200, login.text
    admin = {"Authorization": f"Bearer {login.json()['tokens']['access_token']}"}
    category = httpx.post(f"{one}/categories", json={"name": "Things"}, headers=admin)
    assert category.status_code == 201, category.text
    product = httpx.post(
        f"{one}/products",
        json={
            "name": "Lamp",
            "description": "Light.",
            "price": "10.00",
            "category": "Things",
            "stock": 5,
        },
        headers=admin,
    )
    assert product.status_code == 201, product.text
    path = f"/products/{product.json()['id']}"

    # The catalog: cached on the second process, then changed on the first.
    assert httpx.get(f"{two}{path}").json()["name"] == "Lamp"  # now cached there, for 300 s
    changed = httpx.patch(f"{one}{path}", json={"name": "Lamp, brighter"}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert _within(BOUND, lambda: httpx.get(f"{two}{path}").json()["name"] == "Lamp, brighter")

    # An account: a customer shops on the second process, is disabled on the first.
    email = f"c-{uuid.uuid4().hex[:8]}@example.com"
    reg = httpx.post(
        f"{one}/auth/register", json={"email": email, "password": "customer pw 1", "name": "C"}
    )
    assert reg.status_code == 201, reg.text
    customer = {"Authorization": f"Bearer {reg.json()['tokens']['access_token']}"}
    add = {"product_id": product.json()["id"], "quantity": 1}
    assert httpx.post(f"{two}/cart/items", json=add, headers=customer).status_code == 200
    disabled = httpx.patch(
        f"{one}/auth/users/{reg.json()['user']['id']}", json={"is_active": False}, headers=admin
    )
    assert disabled.status_code == 200, disabled.text
    assert _within(
        BOUND,
        lambda: httpx.post(f"{two}/cart/items", json=add, headers=customer).status_code == 403,
    )

    # Throttling: five failures spread over both lock the account on both.
    statuses = [_login((one, two)[n % 2], ADMIN[0], "wrong password").status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]
    assert _login(one, *ADMIN).status_code == 429
