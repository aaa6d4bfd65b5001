"""PostgreSQL: a reuse racing a rotation in the same family still revokes the whole family.

On SQLite one writer runs the two one after the other. On PostgreSQL under READ COMMITTED, a
reuse's ``UPDATE ... WHERE family = ...`` does not see a successor that a concurrent rotation
inserted but had not yet committed when the UPDATE began, and that successor would outlive the
family's revocation; the per-family lock in ``rotate`` makes the two run one at a time.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from shopkit_server.auth.repository import RefreshOutcome
from shopkit_server.settings import Settings
from shopkit_server.store import Store
from tests.store.test_users_contract import _user

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


async def _until_waiting(observer: asyncpg.Connection, count: int) -> None:
    """Until ``count`` sessions of this database wait for a lock (polled, at most 30 s)."""
    async with asyncio.timeout(30):
        while True:
            waiting = await observer.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if waiting >= count:
                return
            await asyncio.sleep(0.01)


async def test_a_reuse_while_a_rotation_is_in_flight_revokes_its_successor(
    store: Store, settings: Settings
) -> None:
    user = _user("race@example.com")
    await store.users.add(user)
    now = datetime.now(UTC)
    day = now + timedelta(days=1)
    tokens = store.refresh_tokens
    await tokens.add("login", user.id, day)
    assert await tokens.rotate("login", user.id, now, "gen-2", day) is RefreshOutcome.ROTATED

    blocker = await asyncpg.connect(settings.database_url)
    observer = await asyncpg.connect(settings.database_url)
    try:
        # An uncommitted insert of the successor's key holds the rotation inside its
        # transaction (its own insert of that key waits), after it has spent "gen-2".
        held = blocker.transaction()
        await held.start()
        await blocker.execute(
            "INSERT INTO refresh_tokens (jti, user_id, expires_at, family) "
            "VALUES ('gen-3', $1, $2, 'elsewhere')",
            user.id,
            day,
        )
        rotation = asyncio.create_task(tokens.rotate("gen-2", user.id, now, "gen-3", day))
        await _until_waiting(observer, 1)
        # Meanwhile a stolen copy of the spent first token comes back.
        reuse = asyncio.create_task(tokens.rotate("login", user.id, now, "thief", day))
        await _until_waiting(observer, 2)
        await held.rollback()  # the rotation goes on: stores "gen-3", commits
        assert await rotation is RefreshOutcome.ROTATED
        assert await reuse is RefreshOutcome.REUSED
    finally:
        await blocker.close()
        await observer.close()
    # The reuse revoked the family after the rotation: its successor is dead too.
    assert await tokens.rotate("gen-3", user.id, now, "gen-4", day) is RefreshOutcome.REUSED
