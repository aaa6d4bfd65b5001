"""Stock reservations on MongoDB, without multi-document transactions.

A reservation is a document ``{_id: reservation_id, state, lines}`` whose unique ``_id`` is the
claim: only one caller can insert it. States move one way, each move a single conditional
update:

    pending --(every line taken)--> held --(release)--> released
    pending --(release meanwhile)--> released   (the reserver gives back what it took)
    (unknown) --(release)--> released           (a tombstone: a late reserve takes nothing)

Each line is taken by one conditional ``$inc`` (``stock >= q``), so stock never goes below
zero; when a line falls short the lines already taken are given back (compensation) and the
claim is removed, so a later retry with the same id may try again. Because the flip out of
``held`` happens once, a release gives stock back exactly once however often it is called.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from shopkit_server.ids import is_valid_id
from shopkit_server.products.models import ReserveOutcome, ReserveStatus, StockLine
from shopkit_server.store.mongo.db import Document, MongoCollection

# How long a second caller with the same id waits for the first to finish reserving.
PENDING_WAIT_SECONDS = 2.0
_POLL_SECONDS = 0.02


def _encode(lines: Sequence[StockLine]) -> list[list[object]]:
    return [[line.product_id, line.quantity] for line in lines]


def _settled(doc: Document, lines: Sequence[StockLine]) -> ReserveOutcome | None:
    """The answer for an id someone already claimed, or None while it is still pending."""
    if doc["state"] == "released":
        return ReserveOutcome(ReserveStatus.RELEASED)
    if doc["state"] == "held":
        same = doc["lines"] == _encode(lines)
        return ReserveOutcome(ReserveStatus.ALREADY_HELD if same else ReserveStatus.MISMATCH)
    return None


async def _give_back(products: MongoCollection, lines: Sequence[StockLine], now: datetime) -> None:
    for line in lines:
        await products.update_one(
            {"_id": ObjectId(line.product_id)},
            {"$inc": {"stock": line.quantity}, "$set": {"updated_at": now}},
        )


async def _claim(
    reservations: MongoCollection, reservation_id: str, lines: Sequence[StockLine]
) -> ReserveOutcome | None:
    """Insert the pending claim (None), or answer for the caller who holds it already."""
    deadline = asyncio.get_running_loop().time() + PENDING_WAIT_SECONDS
    while True:
        try:
            await reservations.insert_one(
                {
                    "_id": reservation_id,
                    "state": "pending",
                    "lines": _encode(lines),
                    "created_at": datetime.now(UTC),
                }
            )
            return None
        except DuplicateKeyError:
            doc = await reservations.find_one({"_id": reservation_id})
        if doc is not None:
            answer = _settled(doc, lines)
            if answer is not None:
                return answer
            if asyncio.get_running_loop().time() >= deadline:
                return ReserveOutcome(ReserveStatus.PENDING)
            await asyncio.sleep(_POLL_SECONDS)
        # doc is None: the other caller failed and removed its claim; try to claim again.


async def reserve(
    products: MongoCollection,
    reservations: MongoCollection,
    reservation_id: str,
    lines: Sequence[StockLine],
) -> ReserveOutcome:
    answer = await _claim(reservations, reservation_id, lines)
    if answer is not None:
        return answer
    now = datetime.now(UTC)
    taken: list[StockLine] = []
    short: list[str] = []
    for line in lines:
        doc = None
        if is_valid_id(line.product_id):
            doc = await products.find_one_and_update(
                {
                    "_id": ObjectId(line.product_id),
                    "is_active": True,
                    "stock": {"$gte": line.quantity},
                },
                {"$inc": {"stock": -line.quantity}, "$set": {"updated_at": now}},
                projection={"_id": 1},
                return_document=ReturnDocument.AFTER,
            )
        if doc is None:
            short.append(line.product_id)
        else:
            taken.append(line)
    if short:
        await _give_back(products, taken, now)
        # Remove the claim only if still pending (a release meanwhile leaves its tombstone).
        await reservations.delete_one({"_id": reservation_id, "state": "pending"})
        return ReserveOutcome(ReserveStatus.INSUFFICIENT, short=short)
    held = await reservations.update_one(
        {"_id": reservation_id, "state": "pending"}, {"$set": {"state": "held"}}
    )
    if held.modified_count != 1:  # released while we were taking: give it all back
        await _give_back(products, taken, now)
        return ReserveOutcome(ReserveStatus.RELEASED)
    return ReserveOutcome(ReserveStatus.RESERVED)


async def release(
    products: MongoCollection, reservations: MongoCollection, reservation_id: str
) -> None:
    now = datetime.now(UTC)
    for _ in range(3):
        before = await reservations.find_one_and_update(
            {"_id": reservation_id, "state": {"$in": ["pending", "held"]}},
            {"$set": {"state": "released", "released_at": now}},
            return_document=ReturnDocument.BEFORE,
        )
        if before is not None:
            if before["state"] == "held":
                lines = [StockLine(pid, qty) for pid, qty in before["lines"]]
                await _give_back(products, lines, now)
            # A pending reserver sees the flip and gives back what it took itself.
            return
        try:  # unknown or already released: leave a tombstone so a late reserve takes nothing
            await reservations.insert_one(
                {
                    "_id": reservation_id,
                    "state": "released",
                    "lines": [],
                    "created_at": now,
                    "released_at": now,
                }
            )
            return
        except DuplicateKeyError:
            doc = await reservations.find_one({"_id": reservation_id}, {"state": 1})
            if doc is not None and doc["state"] == "released":
                return
            # A reserve claimed the id between our two steps (or failed and dropped its
            # claim): go round, and release it or leave the tombstone.
