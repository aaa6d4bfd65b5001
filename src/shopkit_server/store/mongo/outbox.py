"""MongoDB: the event outbox, webhook endpoints and their deliveries.

MongoDB has no transaction here (a stand-alone server has none), so an event is written in the
same single-document update as the change it reports: into an ``outbox`` array on the order
(or product) document. :meth:`MongoWebhookRepository.fan_out` drains those arrays: it copies
each event into ``outbox_events`` (upserted by event id, so a drain cut short and run again
copies nothing twice), then pulls exactly the copied ids from the array. Nothing is lost (an
event leaves its array only after it is stored) and nothing is made up (an event exists only
if its change was written). Deliveries then follow as in the SQL stores.
"""

from __future__ import annotations

import builtins
import contextlib
from datetime import UTC, datetime

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.errors import DuplicateKeyError as MongoDuplicateKey

from shopkit_server.orders.models import OutboxEvent
from shopkit_server.pagination import PageResult
from shopkit_server.store.mongo.db import Document, MongoDatabase
from shopkit_server.webhooks.models import (
    Delivery,
    DeliveryState,
    DueDelivery,
    Endpoint,
    delivery_id_for,
    matches,
)

# The collections whose documents carry outbox arrays.
SOURCES = ("orders", "products")


async def ensure_indexes(db: MongoDatabase) -> None:
    events = db["outbox_events"]
    await events.create_index([("seq", ASCENDING)], unique=True, name="outbox_seq")
    await events.create_index(
        [("dispatched", ASCENDING), ("seq", ASCENDING)], name="outbox_waiting"
    )
    await events.create_index([("key", ASCENDING), ("seq", ASCENDING)], name="outbox_key")
    deliveries = db["webhook_deliveries"]
    await deliveries.create_index(
        [("state", ASCENDING), ("next_attempt_at", ASCENDING)], name="deliveries_due"
    )
    await deliveries.create_index(
        [("webhook_id", ASCENDING), ("key", ASCENDING), ("state", ASCENDING), ("seq", ASCENDING)],
        name="deliveries_order",
    )
    await deliveries.create_index(
        [("webhook_id", ASCENDING), ("seq", DESCENDING)], name="deliveries_list"
    )
    await db["products"].create_index(
        [("outbox.id", ASCENDING)], name="products_outbox", sparse=True
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _endpoint(doc: Document) -> Endpoint:
    return Endpoint(
        id=doc["_id"],
        url=doc["url"],
        secret=doc["secret"],
        event_types=tuple(doc["event_types"]),
        active=bool(doc["active"]),
        created_at=_utc(doc["created_at"]),
        updated_at=_utc(doc["updated_at"]),
    )


def _event(doc: Document) -> OutboxEvent:
    return OutboxEvent(
        id=doc["_id"],
        type=doc["type"],
        key=doc["key"],
        created_at=_utc(doc["created_at"]),
        data=doc["data"],
    )


def _maybe(moment: datetime | None) -> datetime | None:
    return None if moment is None else _utc(moment)


def _delivery(doc: Document, event: Document) -> Delivery:
    return Delivery(
        id=doc["_id"],
        webhook_id=doc["webhook_id"],
        event=_event(event),
        state=DeliveryState(doc["state"]),
        attempts=int(doc["attempts"]),
        next_attempt_at=_utc(doc["next_attempt_at"]),
        last_attempt_at=_maybe(doc.get("last_attempt_at")),
        response_status=doc.get("response_status"),
        last_error=doc.get("last_error"),
        created_at=_utc(doc["created_at"]),
        delivered_at=_maybe(doc.get("delivered_at")),
    )


class MongoWebhookRepository:
    def __init__(self, db: MongoDatabase) -> None:
        self._db = db
        self._webhooks = db["webhooks"]
        self._events = db["outbox_events"]
        self._deliveries = db["webhook_deliveries"]
        self._counters = db["counters"]

    async def add(self, endpoint: Endpoint) -> None:
        await self._webhooks.insert_one(
            {
                "_id": endpoint.id,
                "url": endpoint.url,
                "secret": endpoint.secret,
                "event_types": list(endpoint.event_types),
                "active": endpoint.active,
                "created_at": endpoint.created_at,
                "updated_at": endpoint.updated_at,
            }
        )

    async def get(self, endpoint_id: str) -> Endpoint | None:
        doc = await self._webhooks.find_one({"_id": endpoint_id})
        return _endpoint(doc) if doc else None

    async def endpoints(self) -> list[Endpoint]:
        docs = await self._webhooks.find({}).sort([("created_at", ASCENDING)]).to_list(None)
        return [_endpoint(doc) for doc in docs]

    async def update(self, endpoint: Endpoint) -> bool:
        result = await self._webhooks.update_one(
            {"_id": endpoint.id},
            {
                "$set": {
                    "url": endpoint.url,
                    "event_types": list(endpoint.event_types),
                    "active": endpoint.active,
                    "updated_at": endpoint.updated_at,
                }
            },
        )
        return bool(result.matched_count == 1)

    async def delete(self, endpoint_id: str) -> bool:
        result = await self._webhooks.delete_one({"_id": endpoint_id})
        await self._deliveries.delete_many({"webhook_id": endpoint_id})
        return bool(result.deleted_count == 1)

    async def _drain(self, limit: int) -> None:
        """Copy events waiting in documents' arrays into ``outbox_events``, in array order."""
        for name in SOURCES:
            source = self._db[name]
            docs = (
                await source.find({"outbox.0": {"$exists": True}}, {"outbox": 1})
                .limit(limit)
                .to_list(None)
            )
            for doc in docs:
                waiting: builtins.list[Document] = doc["outbox"]
                counter = await self._counters.find_one_and_update(
                    {"_id": "outbox_seq"},
                    {"$inc": {"value": len(waiting)}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
                first = int(counter["value"]) - len(waiting) + 1
                for offset, event in enumerate(waiting):
                    with contextlib.suppress(MongoDuplicateKey):  # another drain stored it
                        await self._events.update_one(
                            {"_id": event["id"]},
                            {
                                "$setOnInsert": {
                                    "seq": first + offset,
                                    "type": event["type"],
                                    "key": event["key"],
                                    "created_at": event["created_at"],
                                    "data": event["data"],
                                    "dispatched": False,
                                }
                            },
                            upsert=True,
                        )
                await source.update_one(
                    {"_id": doc["_id"]},
                    {"$pull": {"outbox": {"id": {"$in": [e["id"] for e in waiting]}}}},
                )

    async def fan_out(self, now: datetime, limit: int) -> int:
        await self._drain(limit)
        events = (
            await self._events.find({"dispatched": False})
            .sort([("seq", ASCENDING)])
            .limit(limit)
            .to_list(None)
        )
        if not events:
            return 0
        endpoints = [
            _endpoint(doc) for doc in await self._webhooks.find({"active": True}).to_list(None)
        ]
        writes = [
            UpdateOne(
                {"_id": delivery_id_for(event["_id"], endpoint.id)},
                {
                    "$setOnInsert": {
                        "webhook_id": endpoint.id,
                        "event_id": event["_id"],
                        "seq": event["seq"],
                        "key": event["key"],
                        "state": DeliveryState.PENDING.value,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                },
                upsert=True,
            )
            for event in events
            for endpoint in endpoints
            if matches(endpoint, event["type"])
        ]
        if writes:
            await self._deliveries.bulk_write(writes, ordered=False)
        await self._events.update_many(
            {"_id": {"$in": [event["_id"] for event in events]}}, {"$set": {"dispatched": True}}
        )
        return len(events)

    async def _with_events(self, docs: builtins.list[Document]) -> dict[str, Document]:
        ids = list({doc["event_id"] for doc in docs})
        found = await self._events.find({"_id": {"$in": ids}}).to_list(None)
        return {event["_id"]: event for event in found}

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int
    ) -> builtins.list[DueDelivery]:
        due = (
            await self._deliveries.find(
                {"state": DeliveryState.PENDING.value, "next_attempt_at": {"$lte": now}}
            )
            .sort([("seq", ASCENDING)])
            .limit(limit)
            .to_list(None)
        )
        if not due:
            return []
        # Per-key ordering: only the first pending delivery of a key at an endpoint may go.
        keys = list({doc["key"] for doc in due})
        pending = await self._deliveries.find(
            {"state": DeliveryState.PENDING.value, "key": {"$in": keys}},
            {"webhook_id": 1, "key": 1, "seq": 1},
        ).to_list(None)
        first: dict[tuple[str, str], int] = {}
        for doc in pending:
            slot = (doc["webhook_id"], doc["key"])
            first[slot] = min(first.get(slot, doc["seq"]), doc["seq"])
        endpoints = {e.id: e for e in await self.endpoints() if e.active}
        events = await self._with_events(due)
        claimed: builtins.list[DueDelivery] = []
        for doc in due:
            endpoint = endpoints.get(doc["webhook_id"])
            if endpoint is None or first[(doc["webhook_id"], doc["key"])] != doc["seq"]:
                continue
            # Compare-and-set on the due time: of two dispatchers, one takes it.
            taken = await self._deliveries.find_one_and_update(
                {
                    "_id": doc["_id"],
                    "state": doc["state"],
                    "next_attempt_at": doc["next_attempt_at"],
                },
                {
                    "$set": {"next_attempt_at": lease_until, "last_attempt_at": now},
                    "$inc": {"attempts": 1},
                },
                return_document=ReturnDocument.AFTER,
            )
            if taken is not None:
                claimed.append(
                    DueDelivery(
                        delivery=_delivery(taken, events[doc["event_id"]]),
                        url=endpoint.url,
                        secret=endpoint.secret,
                    )
                )
        return claimed

    async def finish(
        self,
        delivery_id: str,
        *,
        state: DeliveryState,
        at: datetime,
        next_attempt_at: datetime,
        response_status: int | None,
        error: str | None,
    ) -> None:
        await self._deliveries.update_one(
            {"_id": delivery_id},
            {
                "$set": {
                    "state": state.value,
                    "next_attempt_at": next_attempt_at,
                    "response_status": response_status,
                    "last_error": error,
                    "delivered_at": at if state is DeliveryState.DELIVERED else None,
                }
            },
        )

    async def deliveries(self, webhook_id: str, *, offset: int, limit: int) -> PageResult[Delivery]:
        query = {"webhook_id": webhook_id}
        total = await self._deliveries.count_documents(query)
        docs = (
            await self._deliveries.find(query)
            .sort([("seq", DESCENDING)])
            .skip(offset)
            .limit(limit)
            .to_list(None)
        )
        events = await self._with_events(docs)
        return PageResult(items=[_delivery(d, events[d["event_id"]]) for d in docs], total=total)

    async def replay(self, webhook_id: str, delivery_id: str, now: datetime) -> Delivery | None:
        doc = await self._deliveries.find_one_and_update(
            {"_id": delivery_id, "webhook_id": webhook_id},
            {
                "$set": {
                    "state": DeliveryState.PENDING.value,
                    "next_attempt_at": now,
                    "delivered_at": None,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        events = await self._with_events([doc])
        return _delivery(doc, events[doc["event_id"]])

    async def events(self, key: str | None = None, limit: int = 100) -> builtins.list[OutboxEvent]:
        await self._drain(limit)
        query: Document = {} if key is None else {"key": key}
        docs = await self._events.find(query).sort([("seq", ASCENDING)]).limit(limit).to_list(None)
        return [_event(doc) for doc in docs]
