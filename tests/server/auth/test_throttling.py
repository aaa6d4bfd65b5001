"""Sign-in throttling (per address, per account, growing back-off) and the bounded bcrypt queue."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import bcrypt
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from shopkit_server.app import create_app
from shopkit_server.client_address import client_address, parse_networks
from shopkit_server.settings import Settings
from shopkit_server.store import Store
from shopkit_server.throttle import MemoryThrottleStore
from tests.conftest import ONE_ADDRESS_IS_MANY_CLIENTS, PASSWORD

# The production defaults of every limit the rest of the suite lifts.
DEFAULT_LIMITS = {name: Settings.model_fields[name].default for name in ONE_ADDRESS_IS_MANY_CLIENTS}
ATTACKER = "203.0.113.7"
SHOPPER = "198.51.100.20"


def _client(app: FastAPI, address: str, **headers: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test/api", headers=headers)


async def _started(settings: Settings, store: Store, **over: Any) -> AsyncIterator[FastAPI]:
    # A first back-off long enough that no test outlives it, however slow the machine (the
    # growth itself is tested on a fake clock below).
    limits = DEFAULT_LIMITS | {"login_backoff_seconds": 600.0} | over
    app = create_app(settings=settings.model_copy(update=limits), store=store)
    async with LifespanManager(app):
        yield app


@pytest.fixture
async def app(settings: Settings, store: Store) -> AsyncIterator[FastAPI]:
    """The all-in-one app with the default limits."""
    async for started in _started(settings, store):
        yield started


async def _register(app: FastAPI, email: str, address: str = SHOPPER) -> None:
    async with _client(app, address) as client:
        reply = await client.post(
            "/auth/register", json={"email": email, "password": PASSWORD, "name": "N"}
        )
        assert reply.status_code == 201, reply.text


def _login(client: httpx.AsyncClient, email: str, password: str = "wrong password") -> Any:
    return client.post("/auth/login", json={"email": email, "password": password})


def _assert_throttled(reply: httpx.Response, code: str = "too_many_attempts") -> None:
    assert reply.status_code == 429, reply.text
    assert reply.json()["code"] == code
    assert int(reply.headers["Retry-After"]) >= 1


async def test_a_flood_of_wrong_passwords_gets_429_with_retry_after(app: FastAPI) -> None:
    await _register(app, "victim@example.com")
    async with _client(app, ATTACKER) as attacker:
        replies = [await _login(attacker, "victim@example.com") for _ in range(60)]
    failures = Settings.model_fields["login_failures_before_backoff"].default
    assert [r.status_code for r in replies[:failures]] == [401] * failures
    for reply in replies[failures:]:
        _assert_throttled(reply)
    async with _client(app, ATTACKER) as attacker:  # the right password waits it out here too
        _assert_throttled(await _login(attacker, "victim@example.com", PASSWORD))


async def test_an_attacker_locks_only_its_own_address_out_of_an_account(app: FastAPI) -> None:
    await _register(app, "owner@example.com")
    async with _client(app, ATTACKER) as attacker:
        statuses = [(await _login(attacker, "owner@example.com")).status_code for _ in range(12)]
    assert statuses == [401] * 5 + [429] * 7
    # The owner, from their own address with the right password, is not locked out.
    async with _client(app, SHOPPER) as owner:
        assert (await _login(owner, "owner@example.com", PASSWORD)).status_code == 200
        assert (await _login(owner, "owner@example.com")).status_code == 401  # own count


async def test_an_account_wide_ceiling_bounds_guesses_spread_over_addresses(
    settings: Settings, store: Store
) -> None:
    async for app in _started(settings, store, login_attempts_per_account=6):
        await _register(app, "spread@example.com")
        statuses = []
        for i in range(8):  # one guess per address: no pair ever reaches its back-off
            async with _client(app, f"192.0.2.{i}") as guesser:
                statuses.append((await _login(guesser, "spread@example.com")).status_code)
        assert statuses == [401] * 6 + [429] * 2


async def test_parallel_attempts_cannot_all_pass_the_back_off(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _register(app, "target@example.com")
    free = Settings.model_fields["login_failures_before_backoff"].default
    attempts = 20
    auth = app.state.ctx.auth
    verify, get_by_email = auth.passwords.verify, auth.users.get_by_email
    checked = 0
    answered = 0
    answered_during_a_check: list[int] = []
    all_answered = asyncio.Event()

    async def held(email: str) -> Any:
        # An admitted attempt is held (past the throttle, before its password check) until
        # every other attempt has its answer: they run meanwhile, and are checked or refused.
        before = answered
        with anyio.move_on_after(5):
            await all_answered.wait()
        answered_during_a_check.append(answered - before)
        return await get_by_email(email)

    async def counted(password: str, hashed: str | None, *, client: str | None = None) -> bool:
        nonlocal checked
        checked += 1
        return await verify(password, hashed, client=client)

    monkeypatch.setattr(auth.users, "get_by_email", held)
    monkeypatch.setattr(auth.passwords, "verify", counted)

    async def attempt(client: httpx.AsyncClient) -> int:
        nonlocal answered
        try:
            return (await _login(client, "target@example.com")).status_code
        finally:
            answered += 1
            if answered >= attempts - 1:
                all_answered.set()

    async with _client(app, ATTACKER) as attacker:
        statuses = await asyncio.gather(*(attempt(attacker) for _ in range(attempts)))
    assert checked <= free  # at most `free` password checks, however many ran at once
    assert statuses.count(401) == checked
    assert statuses.count(429) == attempts - checked
    assert answered_during_a_check and max(answered_during_a_check) > 0  # they overlapped


async def test_an_unknown_email_is_throttled_exactly_like_a_known_one(app: FastAPI) -> None:
    await _register(app, "known@example.com")
    async with _client(app, ATTACKER) as attacker:
        known = [(await _login(attacker, "known@example.com")).status_code for _ in range(7)]
        unknown = [(await _login(attacker, "ghost@example.com")).status_code for _ in range(7)]
    assert known == unknown == [401] * 5 + [429] * 2


async def test_a_successful_login_clears_the_failures(app: FastAPI) -> None:
    await _register(app, "forgetful@example.com")
    async with _client(app, SHOPPER) as client:
        for _ in range(2):
            for _ in range(4):
                assert (await _login(client, "forgetful@example.com")).status_code == 401
            assert (await _login(client, "forgetful@example.com", PASSWORD)).status_code == 200


async def test_logins_are_bounded_per_client_address(app: FastAPI) -> None:
    limit = Settings.model_fields["login_attempts_per_address"].default
    async with _client(app, ATTACKER) as attacker:
        statuses = [
            (await _login(attacker, f"guess-{i}@example.com")).status_code for i in range(limit)
        ]
        assert statuses == [401] * limit  # one try per account: no account back-off
        _assert_throttled(await _login(attacker, "one-more@example.com"))
    await _register(app, "fine@example.com")
    async with _client(app, SHOPPER) as shopper:
        assert (await _login(shopper, "fine@example.com", PASSWORD)).status_code == 200


async def test_registrations_are_bounded_per_client_address(app: FastAPI) -> None:
    limit = Settings.model_fields["register_attempts_per_address"].default
    async with _client(app, ATTACKER) as attacker:
        for i in range(limit):
            body = {"email": f"bot-{i}@example.com", "password": PASSWORD, "name": "Bot"}
            assert (await attacker.post("/auth/register", json=body)).status_code == 201
        body = {"email": "bot-last@example.com", "password": PASSWORD, "name": "Bot"}
        _assert_throttled(await attacker.post("/auth/register", json=body))
    await _register(app, "human@example.com", SHOPPER)


async def test_change_password_shares_the_accounts_back_off(app: FastAPI) -> None:
    await _register(app, "holder@example.com")
    async with _client(app, SHOPPER) as anon:
        login = await _login(anon, "holder@example.com", PASSWORD)
    token = login.json()["tokens"]["access_token"]
    wrong = {"current_password": "not it at all", "new_password": "a brand new password"}
    async with _client(app, ATTACKER, Authorization=f"Bearer {token}") as stolen:
        statuses = [
            (await stolen.post("/auth/change-password", json=wrong)).status_code for _ in range(5)
        ]
        assert statuses == [401] * 5
        _assert_throttled(await stolen.post("/auth/change-password", json=wrong))
    async with _client(app, ATTACKER) as thief:  # the login form from there is locked too
        _assert_throttled(await _login(thief, "holder@example.com", PASSWORD))
    async with _client(app, SHOPPER) as owner:  # the owner, elsewhere, is not
        assert (await _login(owner, "holder@example.com", PASSWORD)).status_code == 200


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(app: FastAPI) -> None:
    limit = Settings.model_fields["login_attempts_per_address"].default
    async with _client(app, ATTACKER) as attacker:
        for i in range(limit):
            spoofed = {"X-Forwarded-For": f"192.0.2.{i}"}
            reply = await attacker.post(
                "/auth/login",
                json={"email": f"g{i}@example.com", "password": "x"},
                headers=spoofed,
            )
            assert reply.status_code == 401
        last = await attacker.post(
            "/auth/login",
            json={"email": "g-last@example.com", "password": "x"},
            headers={"X-Forwarded-For": "192.0.2.250"},
        )
    _assert_throttled(last)  # one bucket: the peer's, whatever the header said


async def test_x_forwarded_for_from_the_trusted_gateway_is_the_client(app: FastAPI) -> None:
    limit = Settings.model_fields["login_attempts_per_address"].default
    # Behind nginx every request comes from 127.0.0.1 (a trusted proxy by default).
    async with _client(app, "127.0.0.1") as gateway:
        for i in range(limit):
            reply = await gateway.post(
                "/auth/login",
                json={"email": f"c{i}@example.com", "password": "x"},
                headers={"X-Forwarded-For": f"10.9.8.7, {ATTACKER}"},
            )
            assert reply.status_code == 401
        blocked = await gateway.post(
            "/auth/login",
            json={"email": "c-last@example.com", "password": "x"},
            headers={"X-Forwarded-For": ATTACKER},
        )
        _assert_throttled(blocked)
        other = await gateway.post(
            "/auth/login",
            json={"email": "c-other@example.com", "password": "x"},
            headers={"X-Forwarded-For": SHOPPER},
        )
        assert other.status_code == 401  # another customer behind the same gateway


def test_client_address_reads_forwarded_hops_from_the_right() -> None:
    proxies = parse_networks(["127.0.0.1", "10.0.0.0/8"])

    def scope(peer: str, xff: str | None = None) -> dict[str, Any]:
        headers = [(b"x-forwarded-for", xff.encode())] if xff is not None else []
        return {"client": (peer, 1), "headers": headers}

    assert client_address(scope("203.0.113.9", "1.2.3.4"), proxies) == "203.0.113.9"
    assert client_address(scope("127.0.0.1", "1.2.3.4, 10.1.1.1"), proxies) == "1.2.3.4"
    assert client_address(scope("127.0.0.1", "6.6.6.6, 1.2.3.4"), proxies) == "1.2.3.4"
    assert client_address(scope("127.0.0.1", "garbage, 10.1.1.1"), proxies) == "10.1.1.1"
    assert client_address(scope("127.0.0.1"), proxies) == "127.0.0.1"
    assert client_address(scope("2001:db8::1:2"), proxies) == "2001:db8::/64"
    assert client_address({"client": None, "headers": []}, proxies) == "unknown"


async def test_back_off_grows_with_each_failure_and_is_forgotten() -> None:
    now = [1000.0]
    throttle = MemoryThrottleStore(clock=lambda: now[0])
    locks = [await throttle.fail("k", free=2, base=1.0, cap=8.0) for _ in range(7)]
    assert locks == [0.0, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert await throttle.locked_for("k") == 8.0
    now[0] += 3
    assert await throttle.locked_for("k") == 5.0
    now[0] += 6  # past the cap since the last failure: the count starts over
    assert await throttle.locked_for("k") == 0.0
    assert await throttle.fail("k", free=2, base=1.0, cap=8.0) == 0.0
    assert await throttle.fail("k", free=2, base=1.0, cap=8.0) == 1.0
    await throttle.clear("k")
    assert await throttle.locked_for("k") == 0.0
    assert await throttle.hit("w", limit=2, window=10) == 0.0
    assert await throttle.hit("w", limit=2, window=10) == 0.0
    assert await throttle.hit("w", limit=2, window=10) == 10.0
    now[0] += 10
    assert await throttle.hit("w", limit=2, window=10) == 0.0


class _Checks:
    """Counts bcrypt checks running at once, in their worker threads."""

    def __init__(self, real: Callable[[bytes, bytes], bool]) -> None:
        self._real = real
        self._lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.calls = 0
        self.hashing = asyncio.Event()  # set (on the loop) once a check is running
        self._loop = asyncio.get_running_loop()

    def __call__(self, password: bytes, hashed: bytes) -> bool:
        with self._lock:
            self.running += 1
            self.calls += 1
            self.peak = max(self.peak, self.running)
        self._loop.call_soon_threadsafe(self.hashing.set)
        try:
            return self._real(password, hashed)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
async def slow_app(settings: Settings, store: Store) -> AsyncIterator[FastAPI]:
    """Production bcrypt cost, two checks at once: a flood really queues."""
    async for started in _started(settings, store, bcrypt_rounds=12, password_hash_concurrency=2):
        yield started


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_real_login_succeeds_during_a_flood_of_unknown_email_logins(
    slow_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _register(slow_app, "real@example.com")
    checks = _Checks(bcrypt.checkpw)
    monkeypatch.setattr(bcrypt, "checkpw", checks)
    flood_running_when_real_started: list[int] = []
    verify = slow_app.state.ctx.auth.passwords.verify
    flood_in_flight = 0

    async def watched(password: str, hashed: str | None, *, client: str | None = None) -> bool:
        nonlocal flood_in_flight
        if client == SHOPPER:
            flood_running_when_real_started.append(flood_in_flight)
            return await verify(password, hashed, client=client)
        flood_in_flight += 1
        try:
            return await verify(password, hashed, client=client)
        finally:
            flood_in_flight -= 1

    slow_app.state.ctx.auth.passwords.verify = watched
    async with _client(slow_app, ATTACKER) as attacker, _client(slow_app, SHOPPER) as shopper:
        flood = [_login(attacker, f"nobody-{i}@example.com") for i in range(80)]
        replies = await asyncio.gather(*flood, _login(shopper, "real@example.com", PASSWORD))
    real = replies[-1]
    assert real.status_code == 200, real.text
    assert flood_running_when_real_started and flood_running_when_real_started[0] > 0  # overlap
    assert checks.peak <= 2  # never more bcrypt at once than the limiter allows
    refused = [r for r in replies[:-1] if r.status_code == 429]
    assert len(refused) >= 70  # most of the flood was refused at once, not queued
    for reply in refused:
        assert reply.json()["code"] in ("too_many_attempts", "server_busy")
        assert int(reply.headers["Retry-After"]) >= 1
    assert {r.status_code for r in replies[:-1]} <= {401, 429}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_distributed_flood_queues_briefly_and_reads_keep_answering(
    slow_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = _Checks(bcrypt.checkpw)
    monkeypatch.setattr(bcrypt, "checkpw", checks)
    checks_running_at_read: list[int] = []

    async def read_during_flood() -> None:
        async with _client(slow_app, SHOPPER) as reader:
            await checks.hashing.wait()  # the flood's password checks are running
            assert (await reader.get("/products")).status_code == 200
            checks_running_at_read.append(checks.running)

    # 60 clients behind the trusted gateway, each with its own forwarded address.
    async with _client(slow_app, "127.0.0.1") as gateway:
        flood = [
            gateway.post(
                "/auth/login",
                json={"email": f"x{i}@example.com", "password": "nope"},
                headers={"X-Forwarded-For": f"192.0.2.{i}"},
            )
            for i in range(60)
        ]
        *replies, _ = await asyncio.gather(*flood, read_during_flood())
    assert checks.peak <= 2
    busy = [r for r in replies if r.status_code == 429]
    assert len(busy) >= 60 - (2 + Settings.model_fields["password_hash_queue"].default)
    for reply in busy:
        assert reply.json()["code"] == "server_busy"
        assert reply.headers["Retry-After"] == "1"
    assert {r.status_code for r in replies} <= {401, 429}
    # The catalog read finished while password checks were still running: it did not queue.
    assert checks_running_at_read and checks_running_at_read[0] > 0


def test_trusted_proxies_setting_takes_addresses_and_networks() -> None:
    parsed = Settings(_env_file=None, trusted_proxies="10.0.0.0/8, ::1")  # type: ignore[call-arg, arg-type]
    assert parsed.trusted_proxies == ["10.0.0.0/8", "::1"]
    assert Settings(_env_file=None, trusted_proxies="").trusted_proxies == []  # type: ignore[call-arg, arg-type]
    with pytest.raises(ValueError, match="CIDR"):
        Settings(_env_file=None, trusted_proxies="gateway.local")  # type: ignore[call-arg, arg-type]


async def test_an_unknown_email_costs_a_bcrypt_check_like_a_wrong_password(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _register(app, "exists@example.com")
    checks = _Checks(bcrypt.checkpw)
    monkeypatch.setattr(bcrypt, "checkpw", checks)
    async with _client(app, SHOPPER) as client:
        known = await _login(client, "exists@example.com")
        after_known = checks.calls
        unknown = await _login(client, "does-not-exist@example.com")
    assert known.status_code == unknown.status_code == 401
    assert known.json() == unknown.json()
    assert after_known == 1 and checks.calls == 2  # the decoy hash is checked for the unknown


async def test_the_memory_store_sweeps_amortized_and_never_passes_its_cap() -> None:
    now = [0.0]
    store = MemoryThrottleStore(clock=lambda: now[0], prune_above=1_000, max_keys=20_000)
    inserts = 50_000
    sizes: list[int] = []
    for i in range(inserts):
        now[0] += 0.001  # 50 s in all: a 10 s window keeps ~10,000 keys live at once
        await store.hit(f"login:addr:2001:db8:{i:x}::/64", limit=30, window=10.0)
        await store.fail(f"login:acct:a{i}@example.com", free=5, base=1.0, cap=10.0)
        sizes.append(len(store._windows.entries))
    for table in (store._windows, store._failures):
        # Sweeping on every insert past 1,000 keys looked at ~10,000 entries each time (~5e8 in
        # all); doubling between sweeps looks at each entry a bounded number of times.
        assert table.scanned <= 3 * inserts
        assert table.prune_passes <= inserts // 1_000
        assert len(table.entries) <= 2 * 10_000 + 1
    assert max(sizes) <= 20_000
    # Past the cap the least recently written keys go first; the newest are kept.
    capped = MemoryThrottleStore(clock=lambda: now[0], max_keys=100)
    for i in range(1_000):
        await capped.hit(f"k{i}", limit=1, window=3600.0)
        assert len(capped._windows.entries) <= 100
    assert await capped.hit("k999", limit=1, window=3600.0) > 0  # still counted
    assert await capped.hit("k0", limit=1, window=3600.0) == 0.0  # evicted: counts again
