"""MongoDB storage for categories: ``{_id, name, slug, parent_id: ObjectId | None, sort_order}``.

Without multi-document transactions, checks that span collections (a category still in use, a
rename carried over to the products) are check-then-write; unique indexes on ``name`` and
``slug`` make the rules that matter most hold even under races.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bson import ObjectId
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError as MongoDuplicateKey

from shopkit_server.products.models import Category, CategoryUsage
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.store.mongo.db import Document, MongoDatabase


async def ensure_indexes(db: MongoDatabase) -> None:
    categories = db["categories"]
    await categories.create_index([("slug", ASCENDING)], unique=True, name="slug")
    await categories.create_index([("name", ASCENDING)], unique=True, name="name")
    await categories.create_index([("parent_id", ASCENDING)], name="parent")


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

    async def update(self, category: Category, *, old_name: str) -> None:
        try:
            await self._categories.update_one(
                {"_id": ObjectId(category.id)}, {"$set": _fields(category)}
            )
        except MongoDuplicateKey:
            raise DuplicateKeyError("slug") from None
        if category.name != old_name:
            # After the category: the unique index has accepted the new name by now.
            await self._products.update_many(
                {"category": old_name}, {"$set": {"category": category.name}}
            )

    async def delete_if_unused(self, category_id: str) -> CategoryUsage:
        oid = ObjectId(category_id)
        doc = await self._categories.find_one({"_id": oid}, {"name": 1})
        if doc is None:
            return CategoryUsage(products=0, children=0)
        usage = CategoryUsage(
            products=int(await self._products.count_documents({"category": doc["name"]})),
            children=int(await self._categories.count_documents({"parent_id": oid})),
        )
        if not usage.in_use:
            await self._categories.delete_one({"_id": oid})
        return usage
