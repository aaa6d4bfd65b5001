"""The caching account directory, on its own (no Redis needed)."""

from __future__ import annotations

import asyncio

from shopkit_server.accounts import AccountState, CachingAccountDirectory
from shopkit_server.security import Role

ACTIVE = AccountState(role=Role.CUSTOMER, is_active=True)
DISABLED = AccountState(role=Role.CUSTOMER, is_active=False)


class _Store:
    def __init__(self) -> None:
        self.states: dict[str, AccountState] = {"u": ACTIVE}
        self.reads = 0
        self.gate: asyncio.Event | None = None
        self.reading = asyncio.Event()

    async def state(self, user_id: str) -> AccountState | None:
        self.reads += 1
        answer = self.states.get(user_id)
        self.reading.set()
        if self.gate is not None:
            await self.gate.wait()
        return answer


async def test_states_are_kept_until_a_change_is_heard() -> None:
    store = _Store()
    directory = CachingAccountDirectory(store, lambda: True)
    assert await directory.state("u") == ACTIVE
    assert await directory.state("u") == ACTIVE
    assert store.reads == 1
    store.states["u"] = DISABLED
    directory.forget("u")
    assert await directory.state("u") == DISABLED
    assert store.reads == 2
    assert await directory.state("nobody") is None
    assert await directory.state("nobody") is None
    assert store.reads == 4  # an unknown account is never kept


async def test_nothing_is_kept_while_changes_are_not_heard() -> None:
    store = _Store()
    listening = [False]
    directory = CachingAccountDirectory(store, lambda: listening[0])
    await directory.state("u")
    await directory.state("u")
    assert store.reads == 2
    listening[0] = True
    await directory.state("u")
    await directory.state("u")
    assert store.reads == 3


async def test_a_change_heard_during_a_read_keeps_the_older_answer_out() -> None:
    store = _Store()
    directory = CachingAccountDirectory(store, lambda: True)
    store.gate = asyncio.Event()
    reading = asyncio.create_task(directory.state("u"))  # reads ACTIVE, then waits
    await store.reading.wait()
    store.states["u"] = DISABLED
    directory.forget("u")  # the deactivation is heard while the old answer is on its way
    store.gate.set()
    assert await reading == ACTIVE
    store.gate = None
    assert await directory.state("u") == DISABLED  # the stale answer was not kept


async def test_entries_expire_after_max_age() -> None:
    store = _Store()
    now = [0.0]
    directory = CachingAccountDirectory(store, lambda: True, max_age=60, clock=lambda: now[0])
    await directory.state("u")
    now[0] = 59.0
    await directory.state("u")
    assert store.reads == 1
    now[0] = 61.0
    await directory.state("u")
    assert store.reads == 2
