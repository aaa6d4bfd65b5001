"""The real PostgreSQL server: its visible marker, what CI does without it, and what only this
backend has (migrations under an advisory lock, the schema version)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from shopkit_server.auth.repository import RefreshOutcome
from shopkit_server.store.postgres import open_postgres_store
from shopkit_server.store.postgres.schema import MIGRATIONS, SCHEMA_VERSION, SchemaTooNew
from tests.conftest import POSTGRES_UNREACHABLE, POSTGRES_URL, _postgres_db_url, _settings

needs_server = pytest.mark.skipif(
    POSTGRES_UNREACHABLE is not None,
    reason=f"real PostgreSQL not reachable ({POSTGRES_UNREACHABLE}): set "
    "SHOPKIT_TEST_POSTGRES_URL to run every store-backed test on PostgreSQL as well",
)
ROOT = Path(__file__).resolve().parents[2]
NOBODY = "postgresql://postgres@127.0.0.1:9/postgres"  # port 9 (discard): nothing answers


def _pytest_without_server(*, require: bool) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SHOPKIT_", "PYTEST_"))
    }
    env["SHOPKIT_TEST_POSTGRES_URL"] = NOBODY
    if require:
        env["SHOPKIT_REQUIRE_POSTGRES"] = "1"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "tests/store/test_real_postgres.py",
            "-k",
            "server_answers",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_a_server_the_postgres_tests_skip_visibly() -> None:
    result = _pytest_without_server(require=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "real PostgreSQL skipped" in result.stdout  # the report header
    assert "1 skipped" in result.stdout and "real PostgreSQL not reachable" in result.stdout


def test_ci_fails_instead_of_skipping_when_the_server_is_required() -> None:
    result = _pytest_without_server(require=True)
    assert result.returncode != 0
    assert "SHOPKIT_REQUIRE_POSTGRES=1 but PostgreSQL" in result.stderr + result.stdout


@pytest.fixture
async def fresh_database() -> AsyncIterator[str]:
    """An empty database of its own (not the run's shared one), dropped afterwards."""
    name = f"shopkit_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_URL)
    await admin.execute(f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0")
    try:
        yield _postgres_db_url(name)
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


@needs_server
async def test_real_postgres_server_answers() -> None:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        assert int(await conn.fetchval("SHOW server_version_num")) >= 140000
    finally:
        await conn.close()


@needs_server
async def test_processes_starting_at_once_migrate_exactly_once(fresh_database: str) -> None:
    # Six stores opened at once on an empty database: without the advisory lock several would
    # run CREATE TABLE together and all but one would fail.
    stores = await asyncio.gather(
        *(open_postgres_store(_settings(fresh_database)) for _ in range(6))
    )
    try:
        for store in stores:
            await store.ping()
        conn = await asyncpg.connect(fresh_database)
        try:
            assert await conn.fetch("SELECT version FROM shopkit_schema") == [(SCHEMA_VERSION,)]
        finally:
            await conn.close()
    finally:
        for store in stores:
            await store.close()


@needs_server
async def test_a_newer_schema_is_refused(fresh_database: str) -> None:
    store = await open_postgres_store(_settings(fresh_database))
    await store.close()
    conn = await asyncpg.connect(fresh_database)
    await conn.execute("UPDATE shopkit_schema SET version = $1", SCHEMA_VERSION + 1)
    await conn.close()
    with pytest.raises(SchemaTooNew, match="Upgrade shopkit"):
        await open_postgres_store(_settings(fresh_database))


@needs_server
async def test_reopening_keeps_the_data(fresh_database: str) -> None:
    from tests.store.test_products_contract import make_category

    store = await open_postgres_store(_settings(fresh_database))
    await make_category(store, "Kitchen")
    await store.close()
    store = await open_postgres_store(_settings(fresh_database))
    try:
        assert [c.name for c in await store.categories.list_all()] == ["Kitchen"]
    finally:
        await store.close()


async def _version_1_database(url: str, user_id: str, expires: datetime) -> None:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            for statement in MIGRATIONS[0]:
                assert isinstance(statement, str)
                await conn.execute(statement)
            await conn.execute("CREATE TABLE shopkit_schema (version integer NOT NULL)")
            await conn.execute("INSERT INTO shopkit_schema (version) VALUES (1)")
            await conn.execute(
                "INSERT INTO users (id, email, name, role, is_active, password_hash, created_at) "
                "VALUES ($1, 'old@example.com', 'ÉLODIE STRAßE', 'customer', true, 'x', $2)",
                user_id,
                datetime.now(UTC),
            )
            for jti in ("old-1", "old-2"):
                await conn.execute(
                    "INSERT INTO refresh_tokens (jti, user_id, expires_at) VALUES ($1, $2, $3)",
                    jti,
                    user_id,
                    expires,
                )
            await conn.execute(
                "INSERT INTO carts (user_id, updated_at) VALUES ($1, $2)", user_id, expires
            )
    finally:
        await conn.close()


@needs_server
async def test_a_version_1_database_is_upgraded_in_place(fresh_database: str) -> None:
    user_id = "a" * 24
    now = datetime.now(UTC)
    day = now + timedelta(days=1)
    await _version_1_database(fresh_database, user_id, day)
    store = await open_postgres_store(_settings(fresh_database))
    try:
        tokens = store.refresh_tokens
        # Tokens issued before families are each a family of their own.
        assert await tokens.rotate("old-1", user_id, now, "new-1", day) is RefreshOutcome.ROTATED
        assert await tokens.rotate("old-1", user_id, now, "x", day) is RefreshOutcome.REUSED
        assert await tokens.rotate("new-1", user_id, now, "y", day) is RefreshOutcome.REUSED
        assert await tokens.rotate("old-2", user_id, now, "new-2", day) is RefreshOutcome.ROTATED
        # A user stored before the case-folded search keys is found without regard to case.
        for query in ("élodie", "straße", "STRASSE"):
            found = await store.users.list(query=query, offset=0, limit=10)
            assert [u.id for u in found.items] == [user_id], query
        # An account from before verification existed is unverified, at token version 0.
        old = await store.users.get(user_id)
        assert old is not None and (old.email_verified, old.token_version) == (False, 0)
        # A cart stored before checkout claims can be claimed.
        stale = now - timedelta(minutes=1)
        assert await store.carts.claim_checkout(user_id, "c1", now=now, stale_before=stale)
        assert await store.carts.claim_checkout(user_id, "c2", now=now, stale_before=stale) is None
    finally:
        await store.close()
    conn = await asyncpg.connect(fresh_database)
    try:
        assert await conn.fetchval("SELECT version FROM shopkit_schema") == SCHEMA_VERSION
    finally:
        await conn.close()
