"""The user and refresh-token repositories behave alike on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from shopkit_server.auth.models import User, UserChanges
from shopkit_server.auth.repository import RefreshOutcome
from shopkit_server.clock import utc_now
from shopkit_server.ids import new_id
from shopkit_server.security import Role
from shopkit_server.store import Store
from shopkit_server.store.base import DuplicateKeyError


def _user(email: str, **over: object) -> User:
    fields: dict[str, object] = {
        "id": new_id(),
        "email": email,
        "name": "Name",
        "role": Role.CUSTOMER,
        "is_active": True,
        "created_at": utc_now(),
        "last_login": None,
        "password_hash": "$2b$04$" + "x" * 53,
    }
    return User(**(fields | over))  # type: ignore[arg-type]


async def test_add_get_and_unique_email(store: Store) -> None:
    user = _user("one@example.com")
    await store.users.add(user)
    assert await store.users.get(user.id) == user
    assert await store.users.get_by_email("ONE@example.com") == user
    with pytest.raises(DuplicateKeyError):
        await store.users.add(_user("one@example.com"))
    assert await store.users.get("0" * 24) is None
    assert await store.users.get("not-an-id") is None


async def test_update_applies_only_given_fields(store: Store) -> None:
    user = _user("two@example.com")
    other = _user("taken@example.com")
    await store.users.add(user)
    await store.users.add(other)
    moment = datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    updated = await store.users.update(user.id, UserChanges(role=Role.ADMIN, last_login=moment))
    assert updated is not None
    assert updated.role is Role.ADMIN and updated.name == "Name" and updated.last_login == moment
    with pytest.raises(DuplicateKeyError):
        await store.users.update(user.id, UserChanges(email="taken@example.com"))
    assert await store.users.update("0" * 24, UserChanges(name="x")) is None


async def test_list_newest_first_with_query_and_total(store: Store) -> None:
    start = utc_now()
    for index in range(5):
        await store.users.add(
            _user(f"u{index}@example.com", created_at=start + timedelta(seconds=index))
        )
    page = await store.users.list(query=None, offset=0, limit=2)
    assert page.total == 5
    assert [u.email for u in page.items] == ["u4@example.com", "u3@example.com"]
    found = await store.users.list(query="U3@", offset=0, limit=10)
    assert [u.email for u in found.items] == ["u3@example.com"] and found.total == 1
    beyond = await store.users.list(query=None, offset=10, limit=2)
    assert beyond.items == [] and beyond.total == 5


async def _rotate(
    store: Store, jti: str, user_id: str, now: datetime, successor: str
) -> RefreshOutcome:
    return await store.refresh_tokens.rotate(jti, user_id, now, successor, now + timedelta(days=1))


async def test_refresh_token_rotated_once_even_concurrently(store: Store) -> None:
    user = _user("tok@example.com")
    await store.users.add(user)
    now = datetime.now(UTC)
    await store.refresh_tokens.add("jti-1", user.id, now + timedelta(days=1))
    results = await asyncio.gather(
        *(_rotate(store, "jti-1", user.id, now, f"next-{i}") for i in range(6))
    )
    assert results.count(RefreshOutcome.ROTATED) <= 1
    assert set(results) <= {RefreshOutcome.ROTATED, RefreshOutcome.REUSED}
    # The losers saw reuse: whichever successor was stored is revoked with its family.
    for i in range(6):
        assert await _rotate(store, f"next-{i}", user.id, now, f"after-{i}") in (
            RefreshOutcome.INVALID,  # never stored
            RefreshOutcome.REUSED,  # stored, then revoked with the family
        )
    # Wrong owner or expired: never rotated, and not reuse either.
    await store.refresh_tokens.add("jti-2", user.id, now + timedelta(days=1))
    assert await _rotate(store, "jti-2", "someone-else", now, "x2") is RefreshOutcome.INVALID
    await store.refresh_tokens.add("jti-3", user.id, now + timedelta(seconds=1))
    later = now + timedelta(seconds=2)
    assert await _rotate(store, "jti-3", user.id, later, "x3") is RefreshOutcome.INVALID
    assert await _rotate(store, "unknown", user.id, now, "x4") is RefreshOutcome.INVALID
    assert await _rotate(store, "jti-2", user.id, now, "x5") is RefreshOutcome.ROTATED


async def test_reusing_a_spent_token_revokes_its_whole_family(store: Store) -> None:
    user = _user("fam@example.com")
    await store.users.add(user)
    now = datetime.now(UTC)
    await store.refresh_tokens.add("login-1", user.id, now + timedelta(days=1))
    await store.refresh_tokens.add("login-2", user.id, now + timedelta(days=1))  # another device
    assert await _rotate(store, "login-1", user.id, now, "gen-2") is RefreshOutcome.ROTATED
    assert await _rotate(store, "gen-2", user.id, now, "gen-3") is RefreshOutcome.ROTATED
    # The spent first token comes back (a stolen copy): reuse, and the chain's head dies too.
    assert await _rotate(store, "login-1", user.id, now, "thief") is RefreshOutcome.REUSED
    assert await _rotate(store, "gen-3", user.id, now, "gen-4") is RefreshOutcome.REUSED
    assert await _rotate(store, "thief", user.id, now, "t2") is RefreshOutcome.INVALID
    # Another login's family is untouched.
    assert await _rotate(store, "login-2", user.id, now, "other") is RefreshOutcome.ROTATED


async def test_revoke_and_revoke_all(store: Store) -> None:
    user = _user("rev@example.com")
    await store.users.add(user)
    now = datetime.now(UTC)
    for jti in ("a", "b", "c"):
        await store.refresh_tokens.add(jti, user.id, now + timedelta(days=1))
    await store.refresh_tokens.revoke("a", user.id)
    assert await _rotate(store, "a", user.id, now, "a2") is not RefreshOutcome.ROTATED
    await store.refresh_tokens.revoke_all(user.id)
    assert await _rotate(store, "b", user.id, now, "b2") is not RefreshOutcome.ROTATED
    assert await _rotate(store, "c", user.id, now, "c2") is not RefreshOutcome.ROTATED


async def test_search_ignores_case_beyond_ascii(store: Store) -> None:
    elodie = _user("elodie@example.com", name="ÉLODIE Martin")
    strasse = _user("anna@example.com", name="Anna STRAßE")
    jose = _user("jose@example.com", name="josé ñúñez")
    for user in (elodie, strasse, jose):
        await store.users.add(user)

    async def ids(query: str) -> set[str]:
        return {u.id for u in (await store.users.list(query=query, offset=0, limit=10)).items}

    assert await ids("élodie") == {elodie.id}
    assert await ids("Élodie") == {elodie.id}
    assert await ids("straße") == {strasse.id}
    assert await ids("JOSÉ ÑÚÑEZ") == {jose.id}
    # A renamed user is found under the new name only.
    await store.users.update(elodie.id, UserChanges(name="Zoé Ünal"))
    assert await ids("élodie") == set()
    assert await ids("ZOÉ ü") == {elodie.id}
