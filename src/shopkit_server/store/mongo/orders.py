"""MongoDB storage for orders (money as Decimal128) and checkout Idempotency-Keys.

An order is one document (items and status history embedded, per the seed's data model), so
every change is a single-document atomic update: a status move is a compare-and-set on the
current status. Idempotency-Keys live in their own collection under a unique (user_id, key)
index and a TTL index that lets the server forget them after a day.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError as MongoDuplicateKey

from shopkit_server.errors import InvalidCursor
from shopkit_server.ids import is_valid_id
from shopkit_server.orders.models import (
    IDEMPOTENCY_KEY_TTL,
    MANUAL,
    Address,
    IdempotencyRecord,
    Order,
    OrderItem,
    OrderStatus,
    OutboxEvent,
    PaymentStatus,
    StatusChange,
)
from shopkit_server.pagination import Key, PageResult, check_key
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.store.mongo.db import (
    Document,
    MongoDatabase,
    from_decimal128,
    to_decimal128,
)

# A stale key found before the TTL monitor (which runs about once a minute) removed it.
_CLAIM_ATTEMPTS = 4


async def ensure_indexes(db: MongoDatabase) -> None:
    """Create this domain's indexes (idempotent)."""
    orders = db["orders"]
    await orders.create_index(
        [("user_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
        name="orders_user_created",
    )
    await orders.create_index(
        [("status", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
        name="orders_status_created",
    )
    await orders.create_index(
        [("created_at", DESCENDING), ("_id", DESCENDING)], name="orders_created"
    )
    await orders.create_index(
        [("status", ASCENDING), ("payment_status", ASCENDING), ("created_at", ASCENDING)],
        name="orders_payment_due",
    )
    # The dispatcher drains each order's outbox array (store/mongo/outbox.py).
    await orders.create_index([("outbox.id", ASCENDING)], name="orders_outbox", sparse=True)
    # Orders from before payments: paid by hand, not yet.
    await orders.update_many(
        {"payment_status": {"$exists": False}},
        {"$set": {"payment_method": MANUAL, "payment_status": PaymentStatus.UNPAID.value}},
    )
    keys = db["idempotency_keys"]
    await keys.create_index(
        [("user_id", ASCENDING), ("key", ASCENDING)], unique=True, name="idempotency_user_key"
    )
    await keys.create_index(
        [("created_at", ASCENDING)],
        expireAfterSeconds=int(IDEMPOTENCY_KEY_TTL.total_seconds()),
        name="idempotency_ttl",
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _order_doc(order: Order) -> Document:
    address = order.shipping_address
    return {
        "_id": ObjectId(order.id),
        "user_id": order.user_id,
        "items": [
            {
                "product_id": item.product_id,
                "name": item.name,
                "price": to_decimal128(item.price),
                "quantity": item.quantity,
                "item_total": to_decimal128(item.item_total),
                "variant_id": item.variant_id,
                "sku": item.sku,
                "option_values": dict(item.option_values),
                "image_url": item.image_url,
            }
            for item in order.items
        ],
        "subtotal": to_decimal128(order.subtotal),
        "shipping_cost": to_decimal128(order.shipping_cost),
        "tax": to_decimal128(order.tax),
        "total": to_decimal128(order.total),
        "shipping_address": {
            "full_name": address.full_name,
            "address_line1": address.address_line1,
            "address_line2": address.address_line2,
            "city": address.city,
            "state": address.state,
            "postal_code": address.postal_code,
            "country": address.country,
            "phone": address.phone,
        },
        "status": order.status.value,
        "status_history": [_change_doc(change) for change in order.status_history],
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "payment_method": order.payment_method,
        "payment_status": order.payment_status.value,
        "payment_intent_id": order.payment_intent_id,
    }


def _change_doc(change: StatusChange) -> Document:
    return {
        "status": change.status.value,
        "at": change.at,
        "payment_status": change.payment_status.value,
    }


def event_doc(event: OutboxEvent) -> Document:
    """An outbox event as it waits in the array of the document whose write made it."""
    return {
        "id": event.id,
        "type": event.type,
        "key": event.key,
        "created_at": event.created_at,
        "data": event.data,
    }


def _order(doc: Document) -> Order:
    address: dict[str, Any] = doc["shipping_address"]
    return Order(
        id=str(doc["_id"]),
        user_id=doc["user_id"],
        items=[
            OrderItem(
                product_id=item["product_id"],
                name=item["name"],
                price=from_decimal128(item["price"]),
                quantity=int(item["quantity"]),
                item_total=from_decimal128(item["item_total"]),
                variant_id=item.get("variant_id"),
                sku=item.get("sku"),
                option_values=dict(item.get("option_values", {})),
                image_url=item.get("image_url"),
            )
            for item in doc["items"]
        ],
        subtotal=from_decimal128(doc["subtotal"]),
        shipping_cost=from_decimal128(doc["shipping_cost"]),
        tax=from_decimal128(doc["tax"]),
        total=from_decimal128(doc["total"]),
        shipping_address=Address(**address),
        status=OrderStatus(doc["status"]),
        status_history=[
            StatusChange(
                OrderStatus(change["status"]),
                _utc(change["at"]),
                PaymentStatus(change.get("payment_status", PaymentStatus.UNPAID.value)),
            )
            for change in doc["status_history"]
        ],
        created_at=_utc(doc["created_at"]),
        updated_at=_utc(doc["updated_at"]),
        payment_method=doc.get("payment_method", MANUAL),
        payment_status=PaymentStatus(doc.get("payment_status", PaymentStatus.UNPAID.value)),
        payment_intent_id=doc.get("payment_intent_id"),
    )


def _record(doc: Document) -> IdempotencyRecord:
    return IdempotencyRecord(
        user_id=doc["user_id"],
        key=doc["key"],
        request_hash=doc["request_hash"],
        order_id=doc["order_id"],
        created_at=_utc(doc["created_at"]),
        claimed_at=_utc(doc["claimed_at"]),
    )


def _expired(doc: Document, now: datetime) -> bool:
    return _utc(doc["created_at"]) < now - IDEMPOTENCY_KEY_TTL


class MongoOrderRepository:
    def __init__(self, db: MongoDatabase) -> None:
        self._orders = db["orders"]
        self._keys = db["idempotency_keys"]

    async def add(self, order: Order, events: Sequence[OutboxEvent] = ()) -> None:
        # One document: the order and its events are written together or not at all.
        doc = _order_doc(order)
        if events:
            doc["outbox"] = [event_doc(event) for event in events]
        try:
            await self._orders.insert_one(doc)
        except MongoDuplicateKey as exc:
            raise DuplicateKeyError("id") from exc

    async def get(self, order_id: str) -> Order | None:
        if not is_valid_id(order_id):
            return None
        doc = await self._orders.find_one({"_id": ObjectId(order_id)})
        return _order(doc) if doc else None

    async def list(
        self,
        *,
        user_id: str | None,
        status: OrderStatus | None,
        offset: int,
        limit: int,
        after: Key | None = None,
    ) -> PageResult[Order]:
        query: Document = {}
        if user_id is not None:
            query["user_id"] = user_id
        if status is not None:
            query["status"] = status.value
        page_query = query
        if after is not None:
            text, last_id = (str(part) for part in check_key(after, str, str))
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                raise InvalidCursor() from None
            if not is_valid_id(last_id):
                raise InvalidCursor()
            moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
            page_query = {
                "$and": [
                    query,
                    {
                        "$or": [
                            {"created_at": {"$lt": moment}},
                            {"created_at": moment, "_id": {"$lt": ObjectId(last_id)}},
                        ]
                    },
                ]
            }
        total = await self._orders.count_documents(query)
        cursor = (
            self._orders.find(page_query)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit + 1)
        )
        docs = await cursor.to_list(None)
        next_key: Key | None = None
        if len(docs) > limit:
            docs = docs[:limit]
            last = docs[-1]["created_at"]
            last = last.astimezone(UTC) if last.tzinfo else last.replace(tzinfo=UTC)
            next_key = (last.isoformat(timespec="microseconds"), str(docs[-1]["_id"]))
        return PageResult(items=[_order(doc) for doc in docs], total=total, next_key=next_key)

    async def transition(
        self,
        order_id: str,
        *,
        expected: OrderStatus,
        new: OrderStatus,
        at: datetime,
        expected_payment: PaymentStatus | None = None,
        payment: PaymentStatus | None = None,
        events: Sequence[OutboxEvent] = (),
        applied_event: str | None = None,
    ) -> Order | None:
        """One single-document update: the move, its history entry, its outbox events and the
        applied provider event id commit together (no multi-document transaction needed)."""
        if not is_valid_id(order_id):
            return None
        match: Document = {"_id": ObjectId(order_id), "status": expected.value}
        if expected_payment is not None:
            match["payment_status"] = expected_payment.value
        if applied_event is not None:
            match["payment_events"] = {"$ne": applied_event}
        pay = payment.value if payment is not None else None
        update: Document = {"$set": {"status": new.value, "updated_at": at}}
        if pay is not None:
            update["$set"]["payment_status"] = pay
        push: Document = {}
        if events:
            push["outbox"] = {"$each": [event_doc(event) for event in events]}
        if applied_event is not None:
            push["payment_events"] = applied_event
        # The history entry needs the payment status after the move: known when it changes;
        # otherwise read it first and make it part of the match (a change in between fails
        # the compare-and-set, and the caller reads again).
        if pay is None:
            current = await self._orders.find_one(match, {"payment_status": 1})
            if current is None:
                await self._refused(order_id, applied_event)
                return None
            pay = current.get("payment_status", PaymentStatus.UNPAID.value)
            match["payment_status"] = pay
        push["status_history"] = {"status": new.value, "at": at, "payment_status": pay}
        update["$push"] = push
        doc = await self._orders.find_one_and_update(
            match, update, return_document=ReturnDocument.AFTER
        )
        if doc is None:
            await self._refused(order_id, applied_event)
            return None
        return _order(doc)

    async def _refused(self, order_id: str, applied_event: str | None) -> None:
        """Raise if the compare-and-set failed because the event was applied before."""
        if applied_event is not None:
            seen = await self._orders.find_one(
                {"_id": ObjectId(order_id), "payment_events": applied_event}, {"_id": 1}
            )
            if seen is not None:
                raise DuplicateKeyError("event")

    async def set_payment_intent(self, order_id: str, intent_id: str) -> None:
        if is_valid_id(order_id):
            await self._orders.update_one(
                {"_id": ObjectId(order_id)}, {"$set": {"payment_intent_id": intent_id}}
            )

    async def payment_due(
        self,
        *,
        status: OrderStatus,
        payment: Sequence[PaymentStatus],
        created_before: datetime,
        limit: int,
        exclude_method: str | None = None,
    ) -> builtins.list[Order]:
        query: Document = {
            "status": status.value,
            "payment_status": {"$in": [p.value for p in payment]},
            "created_at": {"$lt": created_before},
        }
        if exclude_method is not None:
            query["payment_method"] = {"$ne": exclude_method}
        cursor = self._orders.find(query).sort([("created_at", ASCENDING)]).limit(limit)
        return [_order(doc) for doc in await cursor.to_list(None)]

    async def claim_idempotency_key(self, record: IdempotencyRecord) -> IdempotencyRecord:
        match = {"user_id": record.user_id, "key": record.key}
        for _ in range(_CLAIM_ATTEMPTS):
            try:
                await self._keys.insert_one(
                    {
                        **match,
                        "request_hash": record.request_hash,
                        "order_id": record.order_id,
                        "created_at": record.created_at,
                        "claimed_at": record.claimed_at,
                    }
                )
                return record
            except MongoDuplicateKey:
                held = await self._keys.find_one(match)
            if held is None:
                continue  # freed between our insert and our read: try again
            if _expired(held, record.created_at):
                await self._keys.delete_one({"_id": held["_id"], "created_at": held["created_at"]})
                continue
            return _record(held)
        raise DuplicateKeyError("idempotency_key")

    async def get_idempotency_key(self, user_id: str, key: str) -> IdempotencyRecord | None:
        held = await self._keys.find_one({"user_id": user_id, "key": key})
        if held is None or _expired(held, datetime.now(UTC)):
            return None
        return _record(held)

    async def renew_idempotency_key(self, record: IdempotencyRecord, claimed_at: datetime) -> bool:
        result = await self._keys.update_one(
            {
                "user_id": record.user_id,
                "key": record.key,
                "order_id": record.order_id,
                "claimed_at": record.claimed_at,
            },
            {"$set": {"claimed_at": claimed_at}},
        )
        return bool(result.modified_count == 1)

    async def release_idempotency_key(self, user_id: str, key: str, order_id: str) -> None:
        await self._keys.delete_one({"user_id": user_id, "key": key, "order_id": order_id})

    async def sweep_idempotency_keys(self, before: datetime) -> int:
        # The TTL index expires records on its own schedule; this makes it exact.
        result = await self._keys.delete_many({"created_at": {"$lt": before}})
        return int(result.deleted_count)
