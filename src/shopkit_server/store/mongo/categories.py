"""MongoDB storage for categories: ``{_id, name, slug, parent_id: ObjectId | None, sort_order}``.

Products reference their category by id (``category_id``), and the name a product shows is
resolved from the category when it is read. So a rename is one write of one document: no
product can keep a name that no longer exists, however the rename is interrupted. (The other
design, copying the name into every product and repairing it after a failure, needs the
repair to be re-driven and leaves stale names visible until it is; a lookup of a few hundred
small documents per page is cheaper than that.)

Deleting is guarded without transactions: the delete marks the category (``deleting``) before
it counts what uses it, and every write that puts a product (or a sub-category) into a
category checks afterwards that the category is still there and unmarked, undoing itself if
not (:class:`~shopkit_server.products.repository.MissingCategory`). Either the writer's check
comes before the mark, and then the count sees the product and the delete refuses, or it comes
after, and the writer sees the mark and withdraws. Unique indexes on ``name`` and ``slug`` keep
names unique under races.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import anyio
from bson import ObjectId
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError as MongoDuplicateKey

from shopkit_server.products.models import Category, CategoryUsage
from shopkit_server.products.repository import MissingCategory
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.store.mongo.db import Document, MongoCollection, MongoDatabase


async def ensure_indexes(db: MongoDatabase) -> None:
    categories = db["categories"]
    await categories.create_index([("slug", ASCENDING)], unique=True, name="slug")
    await categories.create_index([("name", ASCENDING)], unique=True, name="name")
    await categories.create_index([("parent_id", ASCENDING)], name="parent")


_MIGRATED = {"_id": "products.category_id"}


async def migrate_product_categories(db: MongoDatabase) -> None:
    """Products stored with the category's name (before ``category_id``) get its id instead.

    Idempotent, and re-driven at every open until it completed once (then a marker in
    ``shopkit_meta`` skips it, so an open never scans the products again).
    """
    meta = db["shopkit_meta"]
    if await meta.find_one(_MIGRATED) is not None:
        return
    products = db["products"]
    for doc in await db["categories"].find({}, {"name": 1}).to_list(None):
        await products.update_many(
            {"category": doc["name"]},
            {"$set": {"category_id": doc["_id"]}, "$unset": {"category": ""}},
        )
    indexes = await products.index_information()
    for stale in ("category_newest", "category_price"):  # keyed on the old field
        if stale in indexes:
            await products.drop_index(stale)
    await meta.update_one(_MIGRATED, {"$set": {"at": datetime.now(UTC)}}, upsert=True)


async def ids_by_name(categories: MongoCollection, names: Iterable[str]) -> dict[str, ObjectId]:
    """The id of each named category that exists (one round trip)."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return {}
    docs = await categories.find({"name": {"$in": wanted}}, {"name": 1}).to_list(None)
    return {doc["name"]: doc["_id"] for doc in docs}


async def names_by_id(categories: MongoCollection, ids: Iterable[ObjectId]) -> dict[ObjectId, str]:
    """The name of each category of ``ids`` (one round trip)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    docs = await categories.find({"_id": {"$in": wanted}}, {"name": 1}).to_list(None)
    return {doc["_id"]: doc["name"] for doc in docs}


async def still_usable(categories: MongoCollection, ids: Iterable[ObjectId]) -> set[ObjectId]:
    """Which of ``ids`` exist and are not being deleted: the check after a write."""
    wanted = list(dict.fromkeys(ids))
    docs = await categories.find(
        {"_id": {"$in": wanted}, "deleting": {"$exists": False}}, {"_id": 1}
    ).to_list(None)
    return {doc["_id"] for doc in docs}


def _category(doc: Document) -> Category:
    parent = doc.get("parent_id")
    return Category(
        id=str(doc["_id"]),
        name=doc["name"],
        slug=doc["slug"],
        parent_id=str(parent) if parent is not None else None,
        sort_order=int(doc.get("sort_order", 0)),
    )


def _fields(category: Category) -> Document:
    return {
        "name": category.name,
        "slug": category.slug,
        "parent_id": ObjectId(category.parent_id) if category.parent_id else None,
        "sort_order": category.sort_order,
    }


class MongoCategoryRepository:
    def __init__(self, db: MongoDatabase) -> None:
        self._categories = db["categories"]
        self._products = db["products"]

    async def list_all(self) -> list[Category]:
        docs = (
            await self._categories.find({})
            .sort([("sort_order", ASCENDING), ("name", ASCENDING)])
            .to_list(None)
        )
        return [_category(doc) for doc in docs]

    async def get(self, category_id: str) -> Category | None:
        doc = await self._categories.find_one({"_id": ObjectId(category_id)})
        return _category(doc) if doc is not None else None

    async def get_by_slug(self, slug: str) -> Category | None:
        doc = await self._categories.find_one({"slug": slug})
        return _category(doc) if doc is not None else None

    async def subtree_names(self, slug: str) -> list[str]:
        # The whole tree is a few hundred small documents at most: one read, walked here.
        docs = await self._categories.find({}, {"name": 1, "slug": 1, "parent_id": 1}).to_list(None)
        root = next((doc for doc in docs if doc["slug"] == slug), None)
        if root is None:
            return []
        children: dict[object, list[Document]] = {}
        for doc in docs:
            children.setdefault(doc.get("parent_id"), []).append(doc)
        names: list[str] = []
        seen: set[object] = set()
        pending = [root]
        while pending:
            doc = pending.pop()
            if doc["_id"] in seen:  # a cycle (never written on purpose) must not loop forever
                continue
            seen.add(doc["_id"])
            names.append(doc["name"])
            pending.extend(children.get(doc["_id"], []))
        return names

    async def create(self, category: Category) -> None:
        doc = _fields(category)
        doc.update(_id=ObjectId(category.id), created_at=datetime.now(UTC))
        try:
            await self._categories.insert_one(doc)
        except MongoDuplicateKey:
            raise DuplicateKeyError("slug") from None
        parent = doc["parent_id"]
        if parent is not None and not await still_usable(self._categories, [parent]):
            # The parent was deleted (or is being deleted) meanwhile: withdraw.
            with anyio.CancelScope(shield=True):
                await self._categories.delete_one({"_id": doc["_id"]})
            raise MissingCategory()

    async def update(self, category: Category) -> None:
        # One write: products hold the category's id, so a rename reaches all of them at once.
        oid = ObjectId(category.id)
        try:
            before = await self._categories.find_one_and_update(
                {"_id": oid}, {"$set": _fields(category)}, projection={"parent_id": 1}
            )
        except MongoDuplicateKey:
            raise DuplicateKeyError("slug") from None
        parent = ObjectId(category.parent_id) if category.parent_id else None
        if before is None or parent is None or before.get("parent_id") == parent:
            return
        if not await still_usable(self._categories, [parent]):
            with anyio.CancelScope(shield=True):  # moved under a category being deleted: undo
                await self._categories.update_one(
                    {"_id": oid, "parent_id": parent},
                    {"$set": {"parent_id": before.get("parent_id")}},
                )
            raise MissingCategory()

    async def delete_if_unused(self, category_id: str) -> CategoryUsage:
        oid = ObjectId(category_id)
        token = uuid.uuid4().hex
        # Mark first, count second: a writer that checks after the mark withdraws, and one
        # that checked before it wrote before it, so the count sees its product.
        doc = await self._categories.find_one_and_update(
            {"_id": oid}, {"$set": {"deleting": token}}, projection={"_id": 1}
        )
        if doc is None:
            return CategoryUsage(products=0, children=0)
        deleted = False
        try:
            usage = CategoryUsage(
                products=int(await self._products.count_documents({"category_id": oid})),
                children=int(await self._categories.count_documents({"parent_id": oid})),
            )
            if not usage.in_use:
                result = await self._categories.delete_one({"_id": oid, "deleting": token})
                deleted = result.deleted_count == 1
            return usage
        finally:
            if not deleted:
                with anyio.CancelScope(shield=True):
                    await self._categories.update_one(
                        {"_id": oid, "deleting": token}, {"$unset": {"deleting": ""}}
                    )
