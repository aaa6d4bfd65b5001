"""SQLite user search folds case in every script, and files from before the change are migrated."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shopkit_server.auth.models import User
from shopkit_server.clock import utc_now
from shopkit_server.ids import new_id
from shopkit_server.security import Role
from shopkit_server.settings import Settings
from shopkit_server.store import Store, open_store
from shopkit_server.store.sqlite import carts, orders, products, users
from shopkit_server.store.sqlite.db import to_db_time
from shopkit_server.store.sqlite.schema import SCHEMA_VERSION
from tests.conftest import TEST_SECRET

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def test_full_case_folding(store: Store) -> None:
    user = User(
        id=new_id(),
        email="grete@example.com",
        name="Grete Straße",
        role=Role.CUSTOMER,
        is_active=True,
        created_at=utc_now(),
        last_login=None,
        password_hash="$2b$04$" + "x" * 53,
    )
    await store.users.add(user)
    for query in ("STRASSE", "strasse", "Straße", "GRETE STR"):
        page = await store.users.list(query=query, offset=0, limit=10)
        assert [u.id for u in page.items] == [user.id], query


async def test_a_version_1_file_is_migrated_in_place(tmp_path: Path, backend: str) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path, isolation_level=None)
    for statement in (*users.SCHEMA, *products.SCHEMA, *carts.SCHEMA, *orders.SCHEMA):
        old.execute(statement)
    old.execute(
        "INSERT INTO users (id, email, name, role, is_active, password_hash, created_at) "
        "VALUES (?, 'elodie@example.com', 'ÉLODIE Martin', 'customer', 1, 'h', ?)",
        (new_id(), to_db_time(utc_now())),
    )
    old.execute("INSERT INTO carts (user_id, updated_at) VALUES (?, ?)", (new_id(), "x"))
    old.execute("PRAGMA user_version = 1")
    old.close()

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{path}",
        jwt_secret_key=TEST_SECRET,
    )
    store = await open_store(settings)
    try:
        page = await store.users.list(query="élodie", offset=0, limit=10)
        assert [u.name for u in page.items] == ["ÉLODIE Martin"]
        # Accounts from before verification existed are unverified, at token version 0.
        assert [(u.email_verified, u.token_version) for u in page.items] == [(False, 0)]
        assert await store.addresses.list(page.items[0].id) == []
    finally:
        await store.close()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    columns = {row[1] for row in check.execute("PRAGMA table_info(carts)")}
    assert {"checkout_id", "checkout_at"} <= columns
    check.close()
