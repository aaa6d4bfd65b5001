"""Connecting one process's state to the replicas' bus (called from ``build_context``)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from shopkit_server.accounts import CachingAccountDirectory
from shopkit_server.products.version import CatalogVersion
from shopkit_server.replicas.bus import REDIS_ERRORS, ReplicaBus
from shopkit_server.revocations import RevokedFamilies

log = structlog.get_logger("shopkit.replicas")


def attach(
    bus: ReplicaBus,
    *,
    version: CatalogVersion,
    accounts: CachingAccountDirectory,
    revoked: RevokedFamilies,
) -> Callable[[str], Awaitable[object]]:
    """Publish this process's changes, apply the others'; returns the account-change hook."""
    families_key = bus.key("revoked-families")

    # Catalog: every write is announced; a write elsewhere, or a resync, drops the cache.
    async def announce_catalog() -> None:
        await bus.publish("catalog")

    version.announce = announce_catalog
    bus.on("catalog", lambda _: version.bump())

    # Accounts: a change drops the account's cached state here at once, and everywhere.
    async def account_changed(user_id: str) -> None:
        accounts.forget(user_id)
        await bus.publish("account", user_id)

    bus.on("account", accounts.forget)

    # Families: kept in a sorted set (for processes that start or resubscribe later) and
    # published (for those listening now).
    async def announce_family(family: str, until: float) -> None:
        try:
            async with bus.redis.pipeline(transaction=True) as pipe:
                pipe.zadd(families_key, {family: until})
                pipe.zremrangebyscore(families_key, "-inf", time.time())
                await pipe.execute()
        except REDIS_ERRORS as exc:
            log.warning("redis_revocation_not_stored", error=type(exc).__name__)
        await bus.publish("family", f"{family}:{until}")

    def family_heard(argument: str) -> None:
        family, _, until = argument.rpartition(":")
        try:
            revoked.add(family, float(until))
        except ValueError:
            log.warning("redis_bad_message", kind="family")

    revoked.announce = announce_family
    bus.on("family", family_heard)

    async def resync() -> None:
        # Whatever was sent while this process was not listening is unknown: assume it all.
        version.bump()
        accounts.forget_all()
        entries: Any = await bus.redis.zrangebyscore(
            families_key, time.time(), "+inf", withscores=True
        )
        for family, until in entries:
            revoked.add(str(family), float(until))

    bus.on_resync(resync)
    return account_changed
