"""MongoDB storage for account tokens, address books and guest carts' tokens.

Each write is one single-document atomic operation, so no transaction is needed:

- a token is spent by ``find_one_and_update`` on its unspent, unexpired document;
- an address book is one document per user (``items`` array, ``default_id``): an add pushes
  under a guard that the array is shorter than the limit, so two adds cannot both pass it, and
  the default is one field, so there is never more than one;
- a guest cart is claimed by ``find_one_and_update`` on its unmerged document. Its lines are an
  ordinary ``carts`` document keyed by the guest cart's id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError as MongoDuplicateKey

from shopkit_server.auth.models import AccountToken, AddressLimitReached, SavedAddress, TokenPurpose
from shopkit_server.cart.models import GuestCart
from shopkit_server.orders.models import Address
from shopkit_server.store._rows import ADDRESS_FIELDS, MERGED_KEPT
from shopkit_server.store.mongo.db import Document, MongoDatabase

# Compare-and-set rounds of an address update that may lose to concurrent changes.
_UPDATE_ATTEMPTS = 8


async def ensure_indexes(db: MongoDatabase) -> None:
    await db["account_tokens"].create_index(
        [("user_id", ASCENDING), ("purpose", ASCENDING)], name="account_tokens_user"
    )
    # TTL: the server deletes expired tokens by itself.
    await db["account_tokens"].create_index(
        [("expires_at", ASCENDING)], expireAfterSeconds=0, name="account_tokens_ttl"
    )
    await db["guest_carts"].create_index(
        [("token_hash", ASCENDING)], unique=True, name="guest_carts_token"
    )
    await db["guest_carts"].create_index([("expires_at", ASCENDING)], name="guest_carts_expiry")


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _token(doc: Document) -> AccountToken:
    return AccountToken(
        token_hash=doc["_id"],
        user_id=doc["user_id"],
        purpose=TokenPurpose(doc["purpose"]),
        email=doc["email"],
        created_at=_utc(doc["created_at"]),
        expires_at=_utc(doc["expires_at"]),
    )


def _entries(book: Document | None, user_id: str) -> list[SavedAddress]:
    if book is None:
        return []
    default_id = book.get("default_id")
    return [
        SavedAddress(
            id=item["id"],
            user_id=user_id,
            address=Address(**{name: item.get(name) for name in ADDRESS_FIELDS}),
            is_default=item["id"] == default_id,
            created_at=_utc(item["created_at"]),
            updated_at=_utc(item["updated_at"]),
        )
        for item in book.get("items", [])
    ]


def _item(entry: SavedAddress) -> Document:
    fields: dict[str, Any] = {name: getattr(entry.address, name) for name in ADDRESS_FIELDS}
    return {
        "id": entry.id,
        **fields,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
    }


class MongoAccountTokenRepository:
    def __init__(self, db: MongoDatabase) -> None:
        self._tokens = db["account_tokens"]

    async def add(self, token: AccountToken) -> None:
        await self._tokens.insert_one(
            {
                "_id": token.token_hash,
                "user_id": token.user_id,
                "purpose": token.purpose.value,
                "email": token.email,
                "created_at": token.created_at,
                "expires_at": token.expires_at,
                "used": False,
            }
        )

    async def consume(
        self, token_hash: str, purpose: TokenPurpose, now: datetime
    ) -> AccountToken | None:
        doc = await self._tokens.find_one_and_update(
            {
                "_id": token_hash,
                "purpose": purpose.value,
                "used": False,
                "expires_at": {"$gt": now},
            },
            {"$set": {"used": True, "used_at": now}},
        )
        return _token(doc) if doc else None

    async def revoke_all(self, user_id: str, purpose: TokenPurpose, now: datetime) -> None:
        await self._tokens.update_many(
            {"user_id": user_id, "purpose": purpose.value, "used": False},
            {"$set": {"used": True, "used_at": now}},
        )


class MongoAddressRepository:
    def __init__(self, db: MongoDatabase) -> None:
        self._books = db["address_books"]

    async def list(self, user_id: str) -> list[SavedAddress]:
        return _entries(await self._books.find_one({"_id": user_id}), user_id)

    async def get(self, user_id: str, address_id: str) -> SavedAddress | None:
        found = [e for e in await self.list(user_id) if e.id == address_id]
        return found[0] if found else None

    async def add(self, entry: SavedAddress, *, limit: int) -> SavedAddress:
        user_id = entry.user_id
        # The guard "no element at index limit-1" lets the push through only while the book
        # is shorter than the limit; a full book fails the filter, and the upsert's insert then
        # collides with the existing _id.
        filter_: Document = {"_id": user_id, f"items.{limit - 1}": {"$exists": False}}
        update: Document = {"$push": {"items": _item(entry)}}
        if entry.is_default:
            update["$set"] = {"default_id": entry.id}
        try:
            book = await self._books.find_one_and_update(
                filter_, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except MongoDuplicateKey:
            raise AddressLimitReached() from None
        if book is not None and book.get("default_id") is None:
            # The first address of a book is its default (only if none was set meanwhile).
            book = await self._books.find_one_and_update(
                {"_id": user_id, "default_id": None},
                {"$set": {"default_id": entry.id}},
                return_document=ReturnDocument.AFTER,
            ) or await self._books.find_one({"_id": user_id})
        return next(e for e in _entries(book, user_id) if e.id == entry.id)

    async def update(
        self,
        user_id: str,
        address_id: str,
        address: Address,
        *,
        make_default: bool,
        now: datetime,
    ) -> SavedAddress | None:
        # Compare-and-set on the whole book: read it, change the entry, write it back only if
        # nothing changed it meanwhile (its items and default are compared), else read again.
        for _ in range(_UPDATE_ATTEMPTS):
            book = await self._books.find_one({"_id": user_id})
            items = list((book or {}).get("items", []))
            index = next((i for i, item in enumerate(items) if item["id"] == address_id), None)
            if book is None or index is None:
                return None
            changed = dict(items[index])
            changed.update({name: getattr(address, name) for name in ADDRESS_FIELDS})
            changed["updated_at"] = now
            new_items = [*items[:index], changed, *items[index + 1 :]]
            default_id = address_id if make_default else book.get("default_id")
            result = await self._books.update_one(
                {"_id": user_id, "items": items, "default_id": book.get("default_id")},
                {"$set": {"items": new_items, "default_id": default_id}},
            )
            if result.modified_count == 1 or result.matched_count == 1:
                new_book = {**book, "items": new_items, "default_id": default_id}
                return next(e for e in _entries(new_book, user_id) if e.id == address_id)
        raise RuntimeError("the address book kept changing during an update")

    async def delete(self, user_id: str, address_id: str) -> bool:
        result = await self._books.update_one(
            {"_id": user_id, "items.id": address_id}, {"$pull": {"items": {"id": address_id}}}
        )
        if result.modified_count == 0:
            return False
        await self._books.update_one(
            {"_id": user_id, "default_id": address_id}, {"$set": {"default_id": None}}
        )
        return True


class MongoGuestCartRepository:
    def __init__(self, db: MongoDatabase) -> None:
        self._guests = db["guest_carts"]
        self._carts = db["carts"]

    async def add(self, guest: GuestCart) -> None:
        await self._guests.insert_one(
            {
                "_id": guest.id,
                "token_hash": guest.token_hash,
                "created_at": guest.created_at,
                "expires_at": guest.expires_at,
                "merged_at": None,
            }
        )

    @staticmethod
    def _guest(doc: Document) -> GuestCart:
        return GuestCart(
            id=doc["_id"],
            token_hash=doc["token_hash"],
            created_at=_utc(doc["created_at"]),
            expires_at=_utc(doc["expires_at"]),
        )

    async def find(self, token_hash: str, now: datetime) -> GuestCart | None:
        doc = await self._guests.find_one(
            {"token_hash": token_hash, "merged_at": None, "expires_at": {"$gt": now}}
        )
        return self._guest(doc) if doc else None

    async def claim(self, token_hash: str, user_id: str, now: datetime) -> GuestCart | None:
        doc = await self._guests.find_one_and_update(
            {"token_hash": token_hash, "merged_at": None, "expires_at": {"$gt": now}},
            {"$set": {"merged_at": now, "merged_into": user_id}},
        )
        return self._guest(doc) if doc else None

    async def sweep(self, now: datetime) -> int:
        stale: Document = {
            "$or": [{"expires_at": {"$lte": now}}, {"merged_at": {"$lte": now - MERGED_KEPT}}]
        }
        ids = [doc["_id"] for doc in await self._guests.find(stale, {"_id": 1}).to_list(None)]
        if not ids:
            return 0
        await self._carts.delete_many({"user_id": {"$in": ids}})
        result = await self._guests.delete_many({"_id": {"$in": ids}})
        return int(result.deleted_count)
