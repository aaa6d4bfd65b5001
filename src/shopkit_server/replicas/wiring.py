"""Connecting one process's state to the replicas' bus (called from ``build_context``)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from shopkit_server.accounts import CachingAccountDirectory
from shopkit_server.ids import is_valid_id
from shopkit_server.products.version import CatalogVersion, Touched
from shopkit_server.replicas.bus import REDIS_ERRORS, ReplicaBus
from shopkit_server.revocations import RevokedFamilies

log = structlog.get_logger("shopkit.replicas")


# The argument of a "catalog" message: "" for a catalog-wide change (what processes that
# predate per-product invalidation send and expect), else "products:" and the ids, by commas.
_PRODUCTS = "products:"


def encode_touched(products: Touched) -> str:
    return "" if products is None else _PRODUCTS + ",".join(products)


def decode_touched(argument: str) -> Touched:
    """The products a "catalog" message names; None (everything) for anything else."""
    if not argument.startswith(_PRODUCTS):
        return None
    ids = [part for part in argument[len(_PRODUCTS) :].split(",") if part]
    return ids if all(is_valid_id(part) for part in ids) else None


def attach(
    bus: ReplicaBus,
    *,
    version: CatalogVersion,
    accounts: CachingAccountDirectory,
    revoked: RevokedFamilies,
) -> Callable[[str], Awaitable[object]]:
    """Publish this process's changes, apply the others'; returns the account-change hook."""
    families_key = bus.key("revoked-families")

    # Catalog: every write is announced with the products it touched; a write elsewhere drops
    # the lists and those products' reads, a catalog-wide write or a resync drops everything.
    async def announce_catalog(products: Touched) -> None:
        await bus.publish("catalog", encode_touched(products))

    version.announce = announce_catalog
    bus.on("catalog", lambda argument: version.bump(decode_touched(argument)))

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
