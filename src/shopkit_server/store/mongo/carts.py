"""MongoDB storage for carts: one document per user, lines in its ``items`` array.

Every change is one single-document atomic update, so no transaction is needed: an add
increments the matching array element under a guard on its quantity, or pushes a new element
under a guard that the line is absent (upserting the cart; the unique ``user_id`` index turns a
lost race into a duplicate-key error, and the add simply tries again).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError as MongoDuplicateKey

from shopkit_server.cart.models import Cart, CartItem, LineLimitExceeded
from shopkit_server.errors import Conflict
from shopkit_server.products.models import StockLine
from shopkit_server.store.mongo.db import (
    Document,
    MongoDatabase,
    from_decimal128,
    to_decimal128,
)

# Each round loses only to a concurrent change of the same line; a few rounds always settle it.
_ADD_ATTEMPTS = 8


_REMOVE_ATTEMPTS = 5


async def ensure_indexes(db: MongoDatabase) -> None:
    """Create this domain's indexes (idempotent)."""
    await db["carts"].create_index([("user_id", ASCENDING)], unique=True, name="carts_user")


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cart(doc: Document | None) -> Cart:
    if doc is None:
        return Cart()
    return Cart(
        items=[
            CartItem(
                product_id=line["product_id"],
                name=line["name"],
                price=from_decimal128(line["price"]),
                quantity=int(line["quantity"]),
                image_url=line.get("image_url"),
            )
            for line in doc.get("items", [])
        ],
        updated_at=_utc(doc["updated_at"]) if doc.get("updated_at") else None,
    )


def _line_quantity(doc: Document | None, product_id: str) -> int:
    for line in (doc or {}).get("items", []):
        if line["product_id"] == product_id:
            return int(line["quantity"])
    return 0


class MongoCartRepository:
    def __init__(self, db: MongoDatabase) -> None:
        self._carts = db["carts"]

    async def get(self, user_id: str) -> Cart:
        return _cart(await self._carts.find_one({"user_id": user_id}))

    async def add_item(
        self, user_id: str, item: CartItem, *, max_quantity: int, now: datetime
    ) -> Cart:
        price = to_decimal128(item.price)
        room = max_quantity - item.quantity  # the line may hold at most this many before the add
        for _ in range(_ADD_ATTEMPTS):
            if room >= 0:
                # update_one, then a read: positional ($) updates are the part of the API the
                # CI stand-in gets right only in update_one.
                result = await self._carts.update_one(
                    {
                        "user_id": user_id,
                        "items": {
                            "$elemMatch": {
                                "product_id": item.product_id,
                                "quantity": {"$lte": room},
                            }
                        },
                    },
                    {
                        "$inc": {"items.$.quantity": item.quantity},
                        "$set": {
                            "items.$.name": item.name,
                            "items.$.price": price,
                            "items.$.image_url": item.image_url,
                            "updated_at": now,
                        },
                    },
                )
                if result.matched_count:
                    return await self.get(user_id)
                line: dict[str, Any] = {
                    "product_id": item.product_id,
                    "name": item.name,
                    "price": price,
                    "image_url": item.image_url,
                    "quantity": item.quantity,
                }
                try:
                    doc = await self._carts.find_one_and_update(
                        {"user_id": user_id, "items.product_id": {"$ne": item.product_id}},
                        {"$push": {"items": line}, "$set": {"updated_at": now}},
                        upsert=True,
                        return_document=ReturnDocument.AFTER,
                    )
                    return _cart(doc)
                except MongoDuplicateKey:
                    pass  # the cart exists and already holds the line: look again
            current = _line_quantity(
                await self._carts.find_one({"user_id": user_id}), item.product_id
            )
            if current + item.quantity > max_quantity:
                raise LineLimitExceeded(current)
            # The line changed between our updates (a concurrent add or removal): go again.
        raise Conflict("Your cart changed while it was being updated; try again.")

    async def set_quantity(
        self, user_id: str, product_id: str, quantity: int, *, now: datetime
    ) -> Cart | None:
        match = {"user_id": user_id, "items.product_id": product_id}
        if quantity == 0:
            update: Document = {
                "$pull": {"items": {"product_id": product_id}},
                "$set": {"updated_at": now},
            }
        else:
            update = {"$set": {"items.$.quantity": quantity, "updated_at": now}}
        result = await self._carts.update_one(match, update)
        return await self.get(user_id) if result.matched_count else None

    async def remove_item(self, user_id: str, product_id: str, *, now: datetime) -> Cart:
        doc = await self._carts.find_one_and_update(
            {"user_id": user_id, "items.product_id": product_id},
            {"$pull": {"items": {"product_id": product_id}}, "$set": {"updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:  # the line was not there: nothing changed
            doc = await self._carts.find_one({"user_id": user_id})
        return _cart(doc)

    async def clear(self, user_id: str) -> None:
        await self._carts.delete_one({"user_id": user_id})

    async def remove_ordered(
        self, user_id: str, lines: Sequence[StockLine], *, now: datetime
    ) -> None:
        for line in lines:
            # Subtract if more remains, else pull the line; a concurrent add between the two
            # single-document updates makes both miss, so try again (each try is atomic).
            for _ in range(_REMOVE_ATTEMPTS):
                match = {"product_id": line.product_id, "quantity": {"$gt": line.quantity}}
                less = await self._carts.update_one(
                    {"user_id": user_id, "items": {"$elemMatch": match}},
                    {"$inc": {"items.$.quantity": -line.quantity}, "$set": {"updated_at": now}},
                )
                if less.modified_count:
                    break
                pulled = await self._carts.update_one(
                    {"user_id": user_id, "items.product_id": line.product_id},
                    {
                        "$pull": {
                            "items": {
                                "product_id": line.product_id,
                                "quantity": {"$lte": line.quantity},
                            }
                        },
                        "$set": {"updated_at": now},
                    },
                )
                if pulled.matched_count == 0 or pulled.modified_count:
                    break
        await self._carts.delete_one({"user_id": user_id, "items": {"$size": 0}})
