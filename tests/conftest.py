"""Fixtures shared by the whole suite.

Store-backed fixtures run once per backend:

- ``sqlite``: the embedded default, a real database file in a temp folder;
- ``mongo-standin``: the MongoDB backend driven through mongomock-motor, an in-memory
  *stand-in*, not MongoDB (no ``$text`` search, no sessions: tests that need those carry
  ``@pytest.mark.mongo_real_only`` and are skipped here);
- ``postgres``: a real PostgreSQL server (``SHOPKIT_TEST_POSTGRES_URL``, by default the local
  one); the run creates a throwaway ``shopkit_test_<random>`` database through that URL, empties
  it before every test and drops it at the end. When no server answers, the backend leaves the
  matrix with one visible skip (tests/store/test_real_postgres.py) unless
  ``SHOPKIT_REQUIRE_POSTGRES=1`` (as in ``.ci/run``), which makes the run fail instead;
- ``mongodb``: a real MongoDB server, only when ``SHOPKIT_TEST_MONGODB_URI`` is set.

A test that must run on one backend only says so with
``@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from shopkit_server.app import create_app
from shopkit_server.security import Role
from shopkit_server.settings import Settings
from shopkit_server.store import Store, open_store

# The Redis fixtures (redis_url, redis_prefix) and their report line.
pytest_plugins = ["tests.redis_support"]

MONGODB_URI = os.environ.get("SHOPKIT_TEST_MONGODB_URI")
POSTGRES_URL = os.environ.get(
    "SHOPKIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("SHOPKIT_REQUIRE_POSTGRES") == "1"


def _postgres_unreachable() -> str | None:
    """Why the PostgreSQL server cannot be used (None: it answers)."""
    import asyncpg

    async def probe() -> None:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:  # any failure to connect means: no usable server
        return f"{type(exc).__name__}: {exc}"
    return None


POSTGRES_UNREACHABLE = _postgres_unreachable()
# The real-server backends join the matrix only when a server answers (PostgreSQL) or is
# configured (MongoDB); otherwise one visible skip each (tests/store/test_real_*.py) and the
# report header say why.
BACKENDS = (
    ["sqlite"]
    + ([] if POSTGRES_UNREACHABLE else ["postgres"])
    + ["mongo-standin"]
    + (["mongodb"] if MONGODB_URI else [])
)
TEST_SECRET = "test-secret-" + "x" * 60
PASSWORD = "correct horse battery"
ONE_ADDRESS_IS_MANY_CLIENTS: dict[str, Any] = {
    "login_attempts_per_address": 0,
    "register_attempts_per_address": 0,
    "password_checks_per_address": 10_000,
    "password_hash_queue": 10_000,
}


def pytest_configure(config: pytest.Config) -> None:
    if REQUIRE_POSTGRES and POSTGRES_UNREACHABLE:
        raise pytest.UsageError(
            f"SHOPKIT_REQUIRE_POSTGRES=1 but PostgreSQL at {_redacted(POSTGRES_URL)} does not "
            f"answer ({POSTGRES_UNREACHABLE})"
        )


def pytest_report_header() -> list[str]:
    backends = ", ".join(BACKENDS)
    lines = [f"store backends: {backends} (mongo-standin is mongomock-motor, not MongoDB)"]
    if POSTGRES_UNREACHABLE:
        lines.append(
            f"real PostgreSQL skipped: {_redacted(POSTGRES_URL)} does not answer "
            f"({POSTGRES_UNREACHABLE}); set SHOPKIT_TEST_POSTGRES_URL"
        )
    if not MONGODB_URI:
        lines.append("real MongoDB skipped: SHOPKIT_TEST_MONGODB_URI is not set")
    return lines


def _redacted(url: str) -> str:
    """The URL without a password, for messages."""
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"


def _postgres_db_url(db_name: str) -> str:
    base, _, query = POSTGRES_URL.partition("?")
    scheme, _, rest = base.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/{db_name}" + (f"?{query}" if query else "")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The URL of this run's throwaway database, migrated once; dropped when the run ends."""
    import asyncpg

    from shopkit_server.store.postgres import open_postgres_store

    if POSTGRES_UNREACHABLE:
        pytest.skip(f"PostgreSQL does not answer: {POSTGRES_UNREACHABLE}")
    db_name = f"shopkit_test_{uuid.uuid4().hex[:12]}"
    url = _postgres_db_url(db_name)

    async def create() -> None:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(f"CREATE DATABASE {db_name} ENCODING 'UTF8' TEMPLATE template0")
            # A throwaway database need not wait for the disk at every commit (durability only;
            # visibility and locking are unchanged).
            await conn.execute(f"ALTER DATABASE {db_name} SET synchronous_commit = off")
        finally:
            await conn.close()
        opened = await open_postgres_store(_settings(url))
        await opened.close()

    async def drop() -> None:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        finally:
            await conn.close()

    asyncio.run(create())
    try:
        yield url
    finally:
        asyncio.run(drop())


async def empty_postgres(url: str) -> None:
    """Delete every row of every shopkit table, referencing tables first.

    DELETE on tables this small takes well under a millisecond; TRUNCATE (new files, an fsync
    each) takes a good part of a second, which would dominate the suite.
    """
    import asyncpg

    from shopkit_server.store.postgres.schema import tables

    global _empty_sql
    conn = await asyncpg.connect(url)
    try:
        if _empty_sql is None:  # the tables and their order are the same for the whole run
            names = await tables(conn)
            edges = await conn.fetch(
                "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
                "WHERE contype = 'f' AND conrelid <> confrelid"
            )
            parents = {name: {p for c, p in edges if c == name} for name in names}
            ordered: list[str] = []
            while parents:  # a referencing table is emptied before the table it references
                leaves = sorted(n for n in parents if not any(n in ps for ps in parents.values()))
                ordered.extend(leaves)
                for leaf in leaves:
                    del parents[leaf]
            _empty_sql = "; ".join(f"DELETE FROM {name}" for name in ordered)
        await conn.execute(_empty_sql)
    finally:
        await conn.close()


_empty_sql: str | None = None


def _settings(url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        jwt_secret_key=TEST_SECRET,
        bcrypt_rounds=4,
        # The test client is every customer at once, from one address: no per-address limits
        # (tests/server/auth/test_throttling.py tests them with the defaults).
        **ONE_ADDRESS_IS_MANY_CLIENTS,
    )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "mongo-standin" and request.node.get_closest_marker("mongo_real_only"):
        pytest.skip("needs a real MongoDB server; the mongomock stand-in has no $text or sessions")
    return name


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
    elif backend == "postgres":
        url = request.getfixturevalue("postgres_database")
    elif backend == "mongodb":
        assert MONGODB_URI
        url = MONGODB_URI
    else:
        url = "mongodb://standin.invalid:27017/shopkit_test"
    return _settings(url)


@pytest.fixture
async def store(backend: str, settings: Settings) -> AsyncIterator[Store]:
    if backend == "sqlite":
        opened = await open_store(settings)
        yield opened
        await opened.close()
        return
    if backend == "postgres":
        await empty_postgres(settings.database_url)
        opened = await open_store(settings)
        yield opened
        await opened.close()
        return
    from pymongo import AsyncMongoClient

    from shopkit_server.store.mongo import open_mongo_store

    if backend == "mongo-standin":
        from mongomock_motor import AsyncMongoMockClient

        _patch_standin()
        opened = await open_mongo_store(settings, client=AsyncMongoMockClient())
        yield opened
        return
    # Real server: a fresh database per test, dropped afterwards.
    assert MONGODB_URI
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(MONGODB_URI, tz_aware=True)
    db_name = f"shopkit_test_{uuid.uuid4().hex[:12]}"
    real = settings.model_copy(update={"database_url": _with_db(MONGODB_URI, db_name)})
    opened = await open_mongo_store(real, client=client)
    yield opened
    await client.drop_database(db_name)
    await client.close()


_standin_patched = False


def _patch_standin() -> None:
    """Close three gaps between the mongomock stand-in and a real server (test-only, idempotent).

    - Real MongoDB compares and sorts Decimal128 as numbers (price filters and sorts rely on
      it); mongomock 4.3 raises NotImplementedError on any Decimal128 comparison.
    - pymongo >= 4.10 passes ``sort=`` to the bulk builder; mongomock 4.3 does not accept it,
      so every ``bulk_write`` with an update would fail.
    - A bulk write reports each upsert with the index of its operation; mongomock numbers the
      upserts 0, 1, 2... instead, so an import could not tell created rows from updated ones.
    """
    global _standin_patched
    if _standin_patched:
        return
    import mongomock.collection
    import mongomock.filtering
    from bson import Decimal128

    compare = mongomock.filtering.bson_compare

    def bson_compare(op: Any, a: Any, b: Any, can_compare_types: bool = True) -> Any:
        a = a.to_decimal() if isinstance(a, Decimal128) else a
        b = b.to_decimal() if isinstance(b, Decimal128) else b
        return compare(op, a, b, can_compare_types)

    mongomock.filtering.bson_compare = bson_compare
    builder = mongomock.collection.BulkOperationBuilder
    add_update, add_replace = builder.add_update, builder.add_replace

    def add_update_without_sort(self: Any, *args: Any, sort: Any = None, **kwargs: Any) -> Any:
        return add_update(self, *args, **kwargs)

    def add_replace_without_sort(self: Any, *args: Any, sort: Any = None, **kwargs: Any) -> Any:
        return add_replace(self, *args, **kwargs)

    builder.add_update = add_update_without_sort  # type: ignore[method-assign]
    builder.add_replace = add_replace_without_sort  # type: ignore[method-assign]

    execute = builder.execute
    mangled = "_BulkOperationBuilder__aggregate_operation_result"
    aggregate = getattr(builder, mangled)

    def execute_with_indexes(self: Any, write_concern: Any = None) -> Any:
        def numbered(index: int, run: Any) -> Any:
            def call() -> Any:
                self._op_index = index
                return run()

            call.__name__ = run.__name__  # mongomock reads it to tell updates from inserts
            return call

        self.executors = [numbered(i, run) for i, run in enumerate(self.executors)]
        return execute(self, write_concern)

    def aggregate_with_indexes(self: Any, total: Any, key: str, value: Any) -> None:
        if key == "upserted":
            total[key].append({"index": self._op_index, "_id": value})
        else:
            aggregate(self, total, key, value)

    builder.execute = execute_with_indexes  # type: ignore[method-assign]
    setattr(builder, mangled, aggregate_with_indexes)
    _make_standin_yield()
    _standin_patched = True


# Every awaitable the stand-in offers: collection methods, cursor reads, database commands.
_STANDIN_CALLS = {
    "AsyncMongoMockCollection": (
        "bulk_write",
        "count_documents",
        "create_index",
        "delete_many",
        "delete_one",
        "distinct",
        "estimated_document_count",
        "find_one",
        "find_one_and_delete",
        "find_one_and_replace",
        "find_one_and_update",
        "insert_many",
        "insert_one",
        "replace_one",
        "update_many",
        "update_one",
    ),
    "AsyncCursor": ("to_list", "next", "__anext__"),
    "AsyncCommandCursor": ("to_list", "next", "__anext__"),
    "AsyncLatentCommandCursor": ("to_list", "next", "__anext__"),
    "AsyncMongoMockDatabase": ("command",),
}


def _make_standin_yield() -> None:
    """Make every stand-in call give the event loop a turn before and after it runs.

    mongomock-motor runs each call to completion without ever suspending, so concurrent
    requests never interleave on it and no race can show. A real server answers over the
    network: other tasks run while a call is on the wire. Yielding before (the request on its
    way) and after (the reply on its way) gives the stand-in the same interleavings; the
    operation itself still applies at once, as a single-document write does on a server.
    """
    import asyncio
    import functools

    import mongomock_motor

    def yielding(call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(call)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(0)
            result = await call(*args, **kwargs)
            await asyncio.sleep(0)
            return result

        return wrapper

    for class_name, methods in _STANDIN_CALLS.items():
        cls = getattr(mongomock_motor, class_name)
        for method in methods:
            setattr(cls, method, yielding(getattr(cls, method)))


def _with_db(uri: str, db_name: str) -> str:
    base, _, query = uri.partition("?")
    scheme, _, rest = base.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/{db_name}" + (f"?{query}" if query else "")


@pytest.fixture
async def app(settings: Settings, store: Store) -> AsyncIterator[FastAPI]:
    application = create_app(settings=settings, store=store)
    async with LifespanManager(application):
        yield application


def api_client(app: FastAPI, token: str | None = None) -> httpx.AsyncClient:
    """An httpx client on the all-in-one app, rooted at /api."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test/api", headers=headers
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Anonymous client."""
    async with api_client(app) as c:
        yield c


@dataclass
class UserSession:
    id: str
    email: str
    password: str
    role: Role
    access_token: str
    refresh_token: str
    client: httpx.AsyncClient  # sends this user's access token


MakeUser = Callable[..., Awaitable[UserSession]]


@pytest.fixture
async def make_user(app: FastAPI) -> AsyncIterator[MakeUser]:
    """``await make_user(role=Role.ADMIN, email=..., name=...)``: a registered, logged-in user."""
    opened: list[httpx.AsyncClient] = []

    async def _make(
        role: Role = Role.CUSTOMER,
        email: str | None = None,
        password: str = PASSWORD,
        name: str = "Test User",
    ) -> UserSession:
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        if role is Role.ADMIN:
            await app.state.ctx.auth.create_user(
                email=email, password=password, name=name, role=Role.ADMIN
            )
        else:
            async with api_client(app) as anon:
                reply = await anon.post(
                    "/auth/register", json={"email": email, "password": password, "name": name}
                )
                assert reply.status_code == 201, reply.text
        async with api_client(app) as anon:
            reply = await anon.post("/auth/login", json={"email": email, "password": password})
            assert reply.status_code == 200, reply.text
        body = reply.json()
        user_client = api_client(app, body["tokens"]["access_token"])
        opened.append(user_client)
        return UserSession(
            id=body["user"]["id"],
            email=body["user"]["email"],
            password=password,
            role=Role(body["user"]["role"]),
            access_token=body["tokens"]["access_token"],
            refresh_token=body["tokens"]["refresh_token"],
            client=user_client,
        )

    yield _make
    for c in opened:
        await c.aclose()


@pytest.fixture
async def customer(make_user: MakeUser) -> UserSession:
    return await make_user()


@pytest.fixture
async def admin(make_user: MakeUser) -> UserSession:
    return await make_user(role=Role.ADMIN, name="Admin")
