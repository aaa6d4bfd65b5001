"""MongoDB storage for carts: one document per user, lines in its ``items`` array.

Every change is one single-document atomic update, so no transaction is needed: an add
increments the matching array element under a guard on its quantity, or pushes a new element
under a guard that the line is absent (upserting the cart; the unique ``user_id`` index turns a
lost race into a duplicate-key error, and the add simply tries again). Every change also bumps
the document's ``version``, so finishing a checkout can replace the lines in one compare-and-
set. A checkout's claim on the cart is the document's ``checkout`` field (``{id, at}``).

A guest cart's merge spans three documents (the guest cart's token, its lines, the account's
cart) and the stand-in has no multi-document transactions, so it is ordered to survive a
crash at any point: (1) claim the token's document (``merged_at``, ``merged_into``); (2) add
the planned units to the account's cart in one compare-and-set on its ``version`` that also
records the merge (the guest cart's id and its report, in ``merged_guests``); (3) delete the
guest's lines; (4) mark the claim ``merge_done``. A login with the token after
``MERGE_LEASE`` resumes a merge its user claimed and never marked done: it re-claims, finds
the record from (2) if that step ran (so adds nothing twice) and finishes (3) and (4).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError as MongoDuplicateKey

from shopkit_server.cart.models import (
    MERGE_LEASE,
    Cart,
    CartItem,
    CartLinesExceeded,
    LineLimitExceeded,
    MergedLine,
    MergePlan,
    MergePlanner,
    Shortfall,
)
from shopkit_server.errors import Conflict
from shopkit_server.ids import is_valid_id
from shopkit_server.products.models import StockLine
from shopkit_server.store.mongo.db import (
    Document,
    MongoDatabase,
    from_decimal128,
    to_decimal128,
)

# Each round loses only to a concurrent change of the same line; a few rounds always settle it.
_ADD_ATTEMPTS = 8


_FINISH_ATTEMPTS = 8


async def ensure_indexes(db: MongoDatabase) -> None:
    """Create this domain's indexes (idempotent)."""
    await db["carts"].create_index([("user_id", ASCENDING)], unique=True, name="carts_user")
    await _backfill_variants(db)


async def _backfill_variants(db: MongoDatabase) -> None:
    """Lines stored before variants name their product's only variant (idempotent; runs after
    the products' own backfill, see ``store/mongo/__init__.py``)."""
    carts = db["carts"]
    async for doc in carts.find({"items": {"$elemMatch": {"variant_id": {"$exists": False}}}}):
        ids = [line["product_id"] for line in doc.get("items", []) if "variant_id" not in line]
        products = (
            await db["products"]
            .find(
                {"_id": {"$in": [ObjectId(pid) for pid in ids if is_valid_id(pid)]}},
                {"variants.id": 1},
            )
            .to_list(None)
        )
        first = {str(p["_id"]): p["variants"][0]["id"] for p in products if p.get("variants")}
        items = [
            line
            if "variant_id" in line
            else {**line, "variant_id": first.get(line["product_id"], line["product_id"])}
            for line in doc.get("items", [])
        ]
        await carts.update_one(
            {"_id": doc["_id"], "version": doc.get("version")},
            {"$set": {"items": items}, "$inc": {"version": 1}},
        )


async def _drop_guest_lines(carts: Any, guest_id: str) -> None:
    """Step (3) of a merge: the guest's lines go."""
    await carts.delete_one({"user_id": guest_id})


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cart(doc: Document | None) -> Cart:
    if doc is None:
        return Cart()
    return Cart(
        items=[
            CartItem(
                product_id=line["product_id"],
                variant_id=line.get("variant_id"),
                name=line["name"],
                price=from_decimal128(line["price"]),
                quantity=int(line["quantity"]),
                image_url=line.get("image_url"),
            )
            for line in doc.get("items", [])
        ],
        updated_at=_utc(doc["updated_at"]) if doc.get("updated_at") else None,
    )


def _line_quantity(doc: Document | None, variant_id: str) -> int:
    for line in (doc or {}).get("items", []):
        if line.get("variant_id") == variant_id:
            return int(line["quantity"])
    return 0


# The merges recorded on an account's cart (newest last): enough to resume any crashed one.
_MERGES_KEPT = 8


def _line_doc(item: CartItem) -> dict[str, Any]:
    return {
        "product_id": item.product_id,
        "variant_id": item.variant_id or item.product_id,
        "name": item.name,
        "price": to_decimal128(item.price),
        "image_url": item.image_url,
        "quantity": item.quantity,
    }


def _with_adds(lines: list[Document], adds: Sequence[CartItem]) -> list[Document]:
    """The account's lines with the planned units added (as ``add_item`` would add them)."""
    merged = [dict(line) for line in lines]
    for item in adds:
        key = item.variant_id or item.product_id
        line = next((x for x in merged if (x.get("variant_id") or x["product_id"]) == key), None)
        if line is None:
            merged.append(_line_doc(item))
        else:
            fresh = _line_doc(item)
            line.update(
                quantity=int(line["quantity"]) + item.quantity,
                name=fresh["name"],
                price=fresh["price"],
                image_url=fresh["image_url"],
            )
    return merged


def _report(lines: Sequence[MergedLine]) -> list[Document]:
    return [
        {
            "product_id": x.product_id,
            "variant_id": x.variant_id,
            "requested": x.requested,
            "added": x.added,
            "shortfall": x.shortfall.value if x.shortfall else None,
        }
        for x in lines
    ]


def _reported(docs: Sequence[Document]) -> list[MergedLine]:
    return [
        MergedLine(
            product_id=d["product_id"],
            variant_id=d["variant_id"],
            requested=int(d["requested"]),
            added=int(d["added"]),
            shortfall=Shortfall(d["shortfall"]) if d["shortfall"] else None,
        )
        for d in docs
    ]


class MongoCartRepository:
    def __init__(self, db: MongoDatabase) -> None:
        self._carts = db["carts"]
        self._guests = db["guest_carts"]

    async def merge_guest(
        self, token_hash: str, user_id: str, plan: MergePlanner, *, now: datetime
    ) -> list[MergedLine] | None:
        live = {"token_hash": token_hash, "expires_at": {"$gt": now}}
        claim = await self._guests.find_one_and_update(
            {
                **live,
                "$or": [
                    {"merged_at": None},
                    # this user's merge that died part way (see the module docstring)
                    {
                        "merged_into": user_id,
                        "merge_done": {"$ne": True},
                        "merged_at": {"$lt": now - MERGE_LEASE},
                    },
                ],
            },
            {"$set": {"merged_at": now, "merged_into": user_id}},
            return_document=ReturnDocument.AFTER,
        )
        if claim is None:
            return None
        guest_id = claim["_id"]
        try:
            lines = await self._record_merge(guest_id, user_id, plan, now)
        except BaseException:
            # Nothing was added (the record and the adds are one write): the token is free
            # again, unless this is a resumed merge whose record the write below found.
            await self._guests.update_one(
                {"_id": guest_id, "merged_at": now, "merged_into": user_id},
                {"$set": {"merged_at": None}, "$unset": {"merged_into": ""}},
            )
            raise
        await _drop_guest_lines(self._carts, guest_id)
        await self._guests.update_one({"_id": guest_id}, {"$set": {"merge_done": True}})
        return lines

    async def _record_merge(
        self, guest_id: str, user_id: str, plan: MergePlanner, now: datetime
    ) -> list[MergedLine]:
        """Step (2): the adds and the merge's record in one compare-and-set of the account's
        cart; a merge recorded already (a resumed one) adds nothing."""
        for _ in range(_ADD_ATTEMPTS):
            doc = await self._carts.find_one({"user_id": user_id})
            merges: list[Document] = list((doc or {}).get("merged_guests", []))
            done = next((m for m in merges if m["id"] == guest_id), None)
            if done is not None:
                return _reported(done["lines"])
            planned: MergePlan = plan(
                _cart(await self._carts.find_one({"user_id": guest_id})), _cart(doc)
            )
            record = [*merges, {"id": guest_id, "lines": _report(planned.lines)}]
            fields = {
                "items": _with_adds(list((doc or {}).get("items", [])), planned.adds),
                "merged_guests": record[-_MERGES_KEPT:],
                "updated_at": now,
            }
            if doc is None:
                try:
                    await self._carts.insert_one({"user_id": user_id, "version": 1, **fields})
                    return planned.lines
                except MongoDuplicateKey:
                    continue  # a concurrent first add made the cart: plan again
            result = await self._carts.update_one(
                {"_id": doc["_id"], "version": doc.get("version")},
                {"$set": fields, "$inc": {"version": 1}},
            )
            if result.matched_count:
                return planned.lines
            # the account's cart changed since it was read: plan again
        raise Conflict("Your cart changed while it was being merged; try again.")

    async def get(self, user_id: str) -> Cart:
        return _cart(await self._carts.find_one({"user_id": user_id}))

    async def add_item(
        self,
        user_id: str,
        item: CartItem,
        *,
        max_quantity: int,
        max_lines: int,
        now: datetime,
    ) -> Cart:
        price = to_decimal128(item.price)
        key = item.variant_id or item.product_id
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
                                "variant_id": key,
                                "quantity": {"$lte": room},
                            }
                        },
                    },
                    {
                        "$inc": {"items.$.quantity": item.quantity, "version": 1},
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
                line = _line_doc(item)
                try:
                    doc = await self._carts.find_one_and_update(
                        {
                            "user_id": user_id,
                            "items.variant_id": {"$ne": key},
                            # fewer than max_lines lines: the one at index max_lines-1 is absent
                            f"items.{max_lines - 1}": {"$exists": False},
                        },
                        {
                            "$push": {"items": line},
                            "$set": {"updated_at": now},
                            "$inc": {"version": 1},
                        },
                        upsert=True,
                        return_document=ReturnDocument.AFTER,
                    )
                    return _cart(doc)
                except MongoDuplicateKey:
                    pass  # the cart exists and holds the line, or is full: look again
            doc = await self._carts.find_one({"user_id": user_id})
            current = _line_quantity(doc, key)
            if current + item.quantity > max_quantity:
                raise LineLimitExceeded(current)
            if current == 0 and len((doc or {}).get("items", [])) >= max_lines:
                raise CartLinesExceeded()
            # The line changed between our updates (a concurrent add or removal): go again.
        raise Conflict("Your cart changed while it was being updated; try again.")

    async def set_quantity(
        self, user_id: str, variant_id: str, quantity: int, *, now: datetime
    ) -> Cart | None:
        match = {"user_id": user_id, "items.variant_id": variant_id}
        if quantity == 0:
            update: Document = {
                "$pull": {"items": {"variant_id": variant_id}},
                "$set": {"updated_at": now},
                "$inc": {"version": 1},
            }
        else:
            update = {
                "$set": {"items.$.quantity": quantity, "updated_at": now},
                "$inc": {"version": 1},
            }
        result = await self._carts.update_one(match, update)
        return await self.get(user_id) if result.matched_count else None

    async def remove_item(self, user_id: str, variant_id: str, *, now: datetime) -> Cart:
        doc = await self._carts.find_one_and_update(
            {"user_id": user_id, "items.variant_id": variant_id},
            {
                "$pull": {"items": {"variant_id": variant_id}},
                "$set": {"updated_at": now},
                "$inc": {"version": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:  # the line was not there: nothing changed
            doc = await self._carts.find_one({"user_id": user_id})
        return _cart(doc)

    async def clear(self, user_id: str) -> None:
        await self._carts.delete_one({"user_id": user_id})

    async def claim_checkout(
        self, user_id: str, checkout_id: str, *, now: datetime, stale_before: datetime
    ) -> Cart | None:
        doc = await self._carts.find_one_and_update(
            {
                "user_id": user_id,
                "$or": [
                    {"checkout": None},
                    {"checkout.id": checkout_id},
                    {"checkout.at": {"$lt": stale_before}},
                ],
            },
            {"$set": {"checkout": {"id": checkout_id, "at": now}}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is not None:
            return _cart(doc)
        if await self._carts.find_one({"user_id": user_id}, {"_id": 1}) is not None:
            return None  # another live checkout holds it
        return Cart()

    async def finish_checkout(
        self, user_id: str, checkout_id: str, lines: Sequence[StockLine], *, now: datetime
    ) -> None:
        taken = {line.variant_id or line.product_id: line.quantity for line in lines}
        for _ in range(_FINISH_ATTEMPTS):
            doc = await self._carts.find_one({"user_id": user_id, "checkout.id": checkout_id})
            if doc is None:
                return  # finished already (a retry), or the claim was lost: change nothing
            kept: list[Document] = []
            for line in doc.get("items", []):
                key = line.get("variant_id") or line["product_id"]
                left = int(line["quantity"]) - taken.get(key, 0)
                if left > 0:
                    kept.append({**line, "quantity": left})
            # Only the version read above: a concurrent add in between makes this miss, and
            # the next round subtracts from the lines as they are then.
            guard = {"_id": doc["_id"], "checkout.id": checkout_id, "version": doc.get("version")}
            if kept:
                result = await self._carts.update_one(
                    guard,
                    {
                        "$set": {"items": kept, "updated_at": now},
                        "$unset": {"checkout": ""},
                        "$inc": {"version": 1},
                    },
                )
                if result.matched_count:
                    return
            elif (await self._carts.delete_one(guard)).deleted_count:
                return
        raise Conflict("Your cart changed while the order was being placed.")

    async def release_checkout(self, user_id: str, checkout_id: str) -> None:
        await self._carts.update_one(
            {"user_id": user_id, "checkout.id": checkout_id}, {"$unset": {"checkout": ""}}
        )
