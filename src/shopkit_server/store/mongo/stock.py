"""Stock reservations on MongoDB, without multi-document transactions.

A reservation is a document ``{_id: reservation_id, state, token, lines, taken, returned}``
whose unique ``_id`` is the claim: only one caller can insert it. States move one way, each
move a single conditional update:

    pending --(every line taken)--> held --(release)--> released
    pending --(release meanwhile)--> released
    (unknown) --(release)--> released           (a tombstone: a late reserve takes nothing)

The bookkeeping is durable, so a reserve that stops part-way (a network error, a
cancellation, a crash) loses nothing:

- Each line's stock moves in one conditional update of its product (``stock >= q`` for a
  take, so stock never goes below zero) that also pushes an *operation marker* onto the
  product's ``stock_ops`` (``<token>:t<i>`` for the take of line ``i``, ``<token>:g<i>`` for its
  give-back; ``token`` is fresh per claim). The decrement and the record that it happened are
  one atomic write of one document.
- After the move the reservation journals the line (``taken`` / ``returned``), conditional on
  its state, so a take that lands after a release is seen by the reserver, who gives it back.
- A reserve stops taking at its first short line (the rest are only read, to name them all):
  units held just to be given back would make racing reserves fail each other.
- Giving back needs the take marker and no give-back marker, in the same conditional update
  (only what was taken comes back, and at most once). Once a line is given back and journaled,
  both its markers are pulled from the product, by an update that applies only while the line
  is given back (so it can never erase an outstanding take); with the take marker gone, a
  give-back re-driven any time later matches nothing.

``release()`` flips the state to released and then gives back every line taken and not yet
given back; a release that fails part-way leaves its work visible, and the next release (it is
idempotent) finishes it. Markers are never trimmed by count: keeping only the newest 64 let a
release re-driven after 64 other stock operations on a product give its units back twice. A
held reservation keeps its take markers until it is released.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from shopkit_server.ids import is_valid_id
from shopkit_server.products.models import ReserveOutcome, ReserveStatus, StockLine
from shopkit_server.store.mongo.db import Document, MongoCollection
from shopkit_server.store.mongo.orders import event_doc
from shopkit_server.webhooks.events import out_of_stock

# How long a second caller with the same id waits for the first to finish reserving.
PENDING_WAIT_SECONDS = 2.0
_POLL_SECONDS = 0.02
# What product reads leave out: the markers are bookkeeping, never part of a product.
WITHOUT_OPS: Document = {"stock_ops": 0}


def _encode(lines: Sequence[StockLine]) -> list[list[object]]:
    return [
        [line.product_id, line.quantity]
        if line.variant_id is None
        else [line.product_id, line.quantity, line.variant_id]
        for line in lines
    ]


def _variant(variant_id: str | None, **conditions: Any) -> tuple[Document, str]:
    """The filter part that picks a line's variant (with ``conditions`` on it), and the path
    of its stock. No variant id: the product's only variant (a line from before variants)."""
    if variant_id is None:
        spec: Document = {"variants": {"$size": 1}}
        spec.update({f"variants.0.{key}": value for key, value in conditions.items()})
        return spec, "variants.0.stock"
    return {"variants": {"$elemMatch": {"id": variant_id, **conditions}}}, "variants.$.stock"


def _stock_move(path: str, quantity: int, now: datetime, op: str, *, aggregate: bool) -> Document:
    """Move the variant's stock (and the product's ``stock``, the sum over active variants,
    when the variant is active), bump ``version`` and record the operation marker."""
    moves: Document = {path: quantity, "version": 1}
    if aggregate:
        moves["stock"] = quantity
    return {"$inc": moves, "$set": {"updated_at": now}, "$push": _push_op(op)}


def _take_op(token: str, index: int) -> str:
    return f"{token}:t{index}"


def _give_op(token: str, index: int) -> str:
    return f"{token}:g{index}"


def _push_op(op: str) -> Document:
    return {"stock_ops": op}


def _settled(doc: Document, lines: Sequence[StockLine]) -> ReserveOutcome | None:
    """The answer for an id someone already claimed, or None while it is still pending."""
    if doc["state"] == "released":
        return ReserveOutcome(ReserveStatus.RELEASED)
    if doc["state"] == "held":
        same = doc["lines"] == _encode(lines)
        return ReserveOutcome(ReserveStatus.ALREADY_HELD if same else ReserveStatus.MISMATCH)
    return None


async def _give_back_line(
    products: MongoCollection,
    reservations: MongoCollection,
    reservation_id: str,
    token: str,
    index: int,
    line: tuple[str, int, str | None],
    *,
    journaled: bool,
    now: datetime,
) -> None:
    """Give back line ``index`` once, if it was taken; journal it as returned, then drop its
    markers."""
    product_id, quantity, variant_id = line
    if not is_valid_id(product_id):
        return
    take, give = _take_op(token, index), _give_op(token, index)
    marked = {"_id": ObjectId(product_id), "stock_ops": {"$all": [take], "$nin": [give]}}
    spec, path = _variant(variant_id, is_active=True)
    gave = await products.update_one(
        {**marked, **spec}, _stock_move(path, quantity, now, give, aggregate=True)
    )
    if gave.modified_count != 1:  # retired meanwhile: its stock is outside the product's sum
        spec, path = _variant(variant_id)
        gave = await products.update_one(
            {**marked, **spec}, _stock_move(path, quantity, now, give, aggregate=False)
        )
    if gave.modified_count == 1 or journaled:
        # Not modified while journaled as taken: an earlier give-back applied (its marker stops
        # a second one, or both markers are gone) and only its journal entry was lost.
        await reservations.update_one({"_id": reservation_id}, {"$addToSet": {"returned": index}})
        # Only while the line is given back (or was never taken): an outstanding take stays.
        await products.update_one(
            {
                "_id": ObjectId(product_id),
                "$or": [{"stock_ops": give}, {"stock_ops": {"$ne": take}}],
            },
            {"$pull": {"stock_ops": {"$in": [take, give]}}},
        )


async def _give_back(
    products: MongoCollection, reservations: MongoCollection, doc: Document, now: datetime
) -> None:
    """Give back every line of ``doc`` that was taken and not yet given back."""
    token = doc.get("token")
    if token is None:  # a tombstone: it never took anything
        return
    taken = set(doc.get("taken", []))
    returned = set(doc.get("returned", []))
    for index, (product_id, quantity, *variant) in enumerate(doc["lines"]):
        if index not in returned:
            await _give_back_line(
                products,
                reservations,
                doc["_id"],
                token,
                index,
                (product_id, quantity, variant[0] if variant else None),
                journaled=index in taken,
                now=now,
            )


async def _claim(
    reservations: MongoCollection, reservation_id: str, lines: Sequence[StockLine], token: str
) -> ReserveOutcome | None:
    """Insert the pending claim (None), or answer for the caller who holds it already."""
    deadline = asyncio.get_running_loop().time() + PENDING_WAIT_SECONDS
    while True:
        try:
            await reservations.insert_one(
                {
                    "_id": reservation_id,
                    "state": "pending",
                    "token": token,
                    "lines": _encode(lines),
                    "taken": [],
                    "returned": [],
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
        # doc is None: the other caller gave up and removed its claim; try to claim again.


async def reserve(
    products: MongoCollection,
    reservations: MongoCollection,
    reservation_id: str,
    lines: Sequence[StockLine],
) -> ReserveOutcome:
    token = uuid.uuid4().hex
    answer = await _claim(reservations, reservation_id, lines, token)
    if answer is not None:
        return answer
    now = datetime.now(UTC)
    mine: Document = {"_id": reservation_id, "token": token, "state": "pending"}
    taken: list[int] = []
    short: list[str] = []
    for index, line in enumerate(lines):
        if short:
            break  # stop taking: holding units we will give back would starve other reserves
        took: Any = None
        if is_valid_id(line.product_id):
            spec, path = _variant(line.variant_id, is_active=True, stock={"$gte": line.quantity})
            took = await products.update_one(
                {"_id": ObjectId(line.product_id), "is_active": True, **spec},
                _stock_move(path, -line.quantity, now, _take_op(token, index), aggregate=True),
            )
        if took is None or took.modified_count != 1:
            short.append(line.product_id)
            continue
        journal = await reservations.update_one(mine, {"$addToSet": {"taken": index}})
        if journal.modified_count != 1:
            # Released while we were taking: the release gave back what the journal listed;
            # this line it could not see, so it comes back here.
            await _give_back_line(
                products,
                reservations,
                reservation_id,
                token,
                index,
                (line.product_id, line.quantity, line.variant_id),
                journaled=True,
                now=now,
            )
            return ReserveOutcome(ReserveStatus.RELEASED)
        taken.append(index)
    if short:
        short += await _also_short(products, lines[len(taken) + len(short) :])
        doc = {"_id": reservation_id, "token": token, "lines": _encode(lines), "taken": taken}
        await _give_back(products, reservations, doc, now)
        # Remove the claim only if still pending (a release meanwhile leaves its tombstone),
        # so a later retry with the same id may try again.
        await reservations.delete_one(mine)
        return ReserveOutcome(ReserveStatus.INSUFFICIENT, short=short)
    held = await reservations.update_one(mine, {"$set": {"state": "held"}})
    if held.modified_count != 1:  # released meanwhile: the release gives back every line
        return ReserveOutcome(ReserveStatus.RELEASED)
    await _announce_empty(products, lines)
    return ReserveOutcome(ReserveStatus.RESERVED)


async def _announce_empty(products: MongoCollection, lines: Sequence[StockLine]) -> None:
    """``product.out_of_stock`` for the products this reservation left at zero.

    Compensated, not atomic: the reservation spans documents and a stand-alone MongoDB has no
    transaction, so the event goes into each emptied product's outbox array in a second write,
    conditioned on the stock still being 0 (an event is never written for stock that is not
    empty). A process that dies between the reservation and this write loses that one event.
    """
    ids = [ObjectId(line.product_id) for line in lines if is_valid_id(line.product_id)]
    empty = await products.find({"_id": {"$in": ids}, "stock": 0}, {"name": 1}).to_list(None)
    for doc in empty:
        event = out_of_stock(str(doc["_id"]), doc["name"], datetime.now(UTC))
        await products.update_one(
            {"_id": doc["_id"], "stock": 0}, {"$push": {"outbox": event_doc(event)}}
        )


async def _also_short(products: MongoCollection, rest: Sequence[StockLine]) -> list[str]:
    """The lines after the first short one that would fall short too (read, not taken)."""
    ids = [ObjectId(line.product_id) for line in rest if is_valid_id(line.product_id)]
    docs = await products.find({"_id": {"$in": ids}, "is_active": True}, {"variants": 1}).to_list(
        None
    )
    stock: dict[tuple[str, str | None], int] = {}
    for doc in docs:
        found = [v for v in doc.get("variants", []) if v.get("is_active", True)]
        for v in found:
            stock[(str(doc["_id"]), v["id"])] = int(v["stock"])
        if len(doc.get("variants", [])) == 1 and found:
            stock[(str(doc["_id"]), None)] = int(found[0]["stock"])
    return [
        line.product_id
        for line in rest
        if stock.get((line.product_id, line.variant_id), 0) < line.quantity
    ]


async def _legacy_give_back(
    products: MongoCollection, lines: list[list[Any]], now: datetime
) -> None:
    """A reservation held before markers existed: every line was taken, give each back once."""
    for product_id, quantity, *_ in lines:
        if is_valid_id(product_id):
            spec, path = _variant(None)
            await products.update_one(
                {"_id": ObjectId(product_id), **spec},
                {
                    "$inc": {"stock": quantity, path: quantity, "version": 1},
                    "$set": {"updated_at": now},
                },
            )


async def release(
    products: MongoCollection, reservations: MongoCollection, reservation_id: str
) -> None:
    """Mark the reservation released and give back exactly what it took (idempotent)."""
    now = datetime.now(UTC)
    for _ in range(3):
        before = await reservations.find_one_and_update(
            {"_id": reservation_id, "state": {"$in": ["pending", "held"]}},
            {"$set": {"state": "released", "released_at": now}},
            return_document=ReturnDocument.BEFORE,
        )
        if before is not None:
            if "token" not in before:
                if before["state"] == "held":
                    await _legacy_give_back(products, before["lines"], now)
                return
            await _finish(products, reservations, before, now)
            return
        doc = await reservations.find_one({"_id": reservation_id})
        if doc is not None:
            if doc["state"] == "released":
                if not doc.get("settled"):  # a release that stopped part-way: finish it
                    await _finish(products, reservations, doc, now)
                return
            continue  # claimed between our two steps: go round and release it
        try:  # unknown: leave a tombstone so a late reserve takes nothing
            await reservations.insert_one(
                {
                    "_id": reservation_id,
                    "state": "released",
                    "lines": [],
                    "settled": True,
                    "created_at": now,
                    "released_at": now,
                }
            )
            return
        except DuplicateKeyError:
            continue  # a reserve claimed the id between our two steps: release it


async def _finish(
    products: MongoCollection, reservations: MongoCollection, doc: Document, now: datetime
) -> None:
    # Read again after the flip: every line journaled before it is listed now.
    fresh = await reservations.find_one({"_id": doc["_id"]}) or doc
    await _give_back(products, reservations, fresh, now)
    await reservations.update_one({"_id": doc["_id"]}, {"$set": {"settled": True}})
