"""MongoDB storage for products (categories and stock reservations live beside it).

A product document: ``{_id: ObjectId, sku?, name, name_key, description, price: Decimal128,
category_id: ObjectId, tags: [..], image_url, stock: int, is_active, is_featured, created_at,
updated_at, stock_ops}``. The category is held by id and its name resolved on read, so a rename
is one write (see categories.py); ``stock_ops`` is reservation bookkeeping (see stock.py).
``sku`` is absent (not null) when unset, so the sparse unique index lets any number of products
go without one. ``name_key`` is the case-folded name the ``name`` sort uses.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import anyio
from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, TEXT, InsertOne, UpdateOne
from pymongo.errors import BulkWriteError
from pymongo.errors import DuplicateKeyError as MongoDuplicateKey

from shopkit_server.errors import InvalidCursor
from shopkit_server.ids import is_valid_id
from shopkit_server.money import quantize
from shopkit_server.pagination import Key, PageResult, capped_total, check_key, count_limit
from shopkit_server.products.models import (
    BulkFailure,
    BulkOutcome,
    BulkRow,
    Product,
    ProductChanges,
    ProductQuery,
    ProductSort,
    ReserveOutcome,
    StockLine,
    Variant,
    VariantChanges,
    VariantPlan,
    bulk_images,
    bulk_row_changes,
)
from shopkit_server.products.repository import MissingCategory
from shopkit_server.products.variants import (
    VariantRuleBroken,
    bulk_plan,
    check_new_row,
    check_variants,
)
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.store.mongo import stock, variants
from shopkit_server.store.mongo.categories import (
    MongoCategoryRepository,
    ids_by_name,
    migrate_product_categories,
    names_by_id,
    still_usable,
)
from shopkit_server.store.mongo.categories import ensure_indexes as ensure_category_indexes
from shopkit_server.store.mongo.db import (
    Document,
    MongoDatabase,
    from_decimal128,
    to_decimal128,
)

__all__ = ["MongoCategoryRepository", "MongoProductRepository", "ensure_indexes"]

_SORTS: dict[ProductSort, list[tuple[str, Any]]] = {
    ProductSort.NEWEST: [("created_at", DESCENDING), ("_id", DESCENDING)],
    ProductSort.PRICE_ASC: [("price", ASCENDING), ("_id", ASCENDING)],
    ProductSort.PRICE_DESC: [("price", DESCENDING), ("_id", DESCENDING)],
    ProductSort.NAME: [("name_key", ASCENDING), ("_id", ASCENDING)],
}
_TEXT_SCORE = {"$meta": "textScore"}
# The plain fields of a product document (the variant part is ``variants.product_fields``).
_PLAIN = ("sku", "name", "description", "category", "tags", "is_active", "is_featured")
# A write of variants retries this often when a stock change moved ``version`` meanwhile.
_REWRITE_ATTEMPTS = 20


async def ensure_indexes(db: MongoDatabase) -> None:
    """Create this domain's indexes (idempotent): one per filter and sort, and the text index."""
    products = db["products"]
    await products.create_index([("sku", ASCENDING)], unique=True, sparse=True, name="sku")
    for name, keys in (
        ("active_newest", [("is_active", 1), ("created_at", -1), ("_id", -1)]),
        ("active_price", [("is_active", 1), ("price", 1), ("_id", 1)]),
        ("active_name", [("is_active", 1), ("name_key", 1), ("_id", 1)]),
        ("category_id_newest", [("category_id", 1), ("is_active", 1), ("created_at", -1)]),
        ("category_id_price", [("category_id", 1), ("is_active", 1), ("price", 1)]),
        ("featured_newest", [("is_featured", 1), ("is_active", 1), ("created_at", -1)]),
        ("tags", [("tags", 1)]),
    ):
        await products.create_index(keys, name=name)
    # Variant skus: checked by ``_skus_free`` before each write (see its docstring).
    await products.create_index([("variant_skus", ASCENDING)], name="variant_skus")
    # Weights: a word in the name outranks the same word in the tags or the option values,
    # then the description. The index before variants ("text") did not read option values.
    existing = await products.index_information()
    if "text" in existing:
        await products.drop_index("text")
    await products.create_index(
        [("name", TEXT), ("description", TEXT), ("tags", TEXT), ("option_words", TEXT)],
        weights={"name": 10, "tags": 4, "option_words": 4, "description": 1},
        default_language="english",
        name="text_options",
    )
    await variants.backfill(products)
    await ensure_category_indexes(db)
    await migrate_product_categories(db)


def _aware(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _product(doc: Document, names: dict[ObjectId, str]) -> Product:
    base = doc.get("base_price")
    return Product(
        id=str(doc["_id"]),
        sku=doc.get("sku"),
        name=doc["name"],
        description=doc.get("description", ""),
        price=quantize(from_decimal128(doc["price"])),
        category=names.get(doc["category_id"], ""),
        tags=list(doc.get("tags", [])),
        image_url=doc.get("image_url"),
        stock=int(doc["stock"]),
        is_active=bool(doc["is_active"]),
        is_featured=bool(doc["is_featured"]),
        created_at=_aware(doc["created_at"]),
        updated_at=_aware(doc["updated_at"]),
        base_price=None if base is None else quantize(from_decimal128(base)),
        options=variants.decode_options(doc.get("options")),
        variants=[variants.decode_variant(v) for v in doc.get("variants", [])],
        images=variants.decode_images(doc.get("images")),
    )


def _fields(values: dict[str, Any], ids: dict[str, ObjectId]) -> Document:
    """Domain values of plain fields -> document fields (name -> name_key too, category name
    -> category_id through ``ids``)."""
    doc: Document = {}
    for key, value in values.items():
        if key == "category":
            doc["category_id"] = ids[value]
        elif key == "tags":
            doc["tags"] = list(value)
        else:
            doc[key] = value
        if key == "name":
            doc["name_key"] = value.casefold()
    return doc


def _document(product: Product, ids: dict[str, ObjectId]) -> Document:
    doc = _fields({name: getattr(product, name) for name in _PLAIN}, ids)
    if doc["sku"] is None:
        del doc["sku"]
    doc.update(variants.product_fields(product))
    doc.update(
        _id=ObjectId(product.id), created_at=product.created_at, updated_at=product.updated_at
    )
    return doc


def build_filter(query: ProductQuery, category_ids: Sequence[ObjectId] = ()) -> Document:
    """The filter of ``query``; ``category_ids`` are the ids of ``query.categories``."""
    spec: Document = {}
    if query.search_terms:
        # $text ORs the words and ranks by textScore; the terms carry no syntax (no quotes,
        # no leading "-"), see service.search_terms.
        spec["$text"] = {"$search": " ".join(query.search_terms)}
    if not query.include_inactive:
        spec["is_active"] = True
    if query.categories is not None:
        spec["category_id"] = {"$in": list(category_ids)}
    price: Document = {}
    if query.min_price is not None:
        price["$gte"] = to_decimal128(query.min_price)
    if query.max_price is not None:
        price["$lte"] = to_decimal128(query.max_price)
    if price:
        spec["price"] = price
    if query.tags:
        spec["tags"] = {"$all": list(query.tags)}
    if query.in_stock is not None:
        spec["stock"] = {"$gt": 0} if query.in_stock else 0
    if query.options:
        spec["variants"] = {
            "$elemMatch": {
                "is_active": True,
                "stock": {"$gt": 0},
                "option_keys": {"$all": list(query.options)},
            }
        }
    if query.featured is not None:
        spec["is_featured"] = query.featured
    return spec


_KEY_TYPES: dict[str, type] = {"created_at": str, "price": str, "name_key": str}


def _key_value(value: Any) -> str | float:
    """A sort field's value as a JSON scalar of a key (exact text for prices and times)."""
    if isinstance(value, datetime):
        return _aware(value).isoformat(timespec="microseconds")
    if isinstance(value, float | int):
        return float(value)
    return str(value)  # Decimal128 -> its exact text; name_key as it is


def _stored(field: str, text: str) -> Any:
    try:
        if field == "created_at":
            return _aware(datetime.fromisoformat(text))
        if field == "price":
            return to_decimal128(Decimal(text))
    except (ValueError, ArithmeticError):
        raise InvalidCursor() from None
    return text


def _after(sort: list[tuple[str, Any]], after: Key) -> Document:
    """The documents after ``after`` in ``sort`` order: (field, _id) compared as a pair."""
    (field, direction), _ = sort
    text, last = check_key(after, _KEY_TYPES[field], str)
    last_id = str(last)
    if not is_valid_id(last_id):
        raise InvalidCursor()
    value = _stored(field, str(text))
    op = "$lt" if direction == DESCENDING else "$gt"
    return {"$or": [{field: {op: value}}, {field: value, "_id": {op: ObjectId(last_id)}}]}


def _duplicate(exc: MongoDuplicateKey) -> Exception:
    pattern = (exc.details or {}).get("keyPattern") or {}
    if "sku" in pattern or "variant_skus" in pattern:
        return DuplicateKeyError("sku")
    message = str(exc)
    return DuplicateKeyError("sku") if "sku" in message else exc


class MongoProductRepository:
    def __init__(self, db: MongoDatabase) -> None:
        self._products = db["products"]
        self._categories = db["categories"]
        self._reservations = db["stock_reservations"]

    async def _skus_free(self, product_id: str, skus: Sequence[str | None]) -> None:
        """DuplicateKeyError("sku") when another product holds one of these variant skus.

        A read before the write, not a unique index: the mongomock stand-in cannot keep a
        unique index over an array, so two admin writes racing for one new sku on MongoDB
        could both pass. The product-level ``sku`` index stays unique as before.
        """
        wanted = [sku for sku in skus if sku is not None]
        if not wanted:
            return
        clash = await self._products.find_one(
            {"variant_skus": {"$in": wanted}, "_id": {"$ne": ObjectId(product_id)}}, {"_id": 1}
        )
        if clash is not None:
            raise DuplicateKeyError("sku")

    async def _products_of(self, docs: list[Document]) -> list[Product]:
        names = await names_by_id(self._categories, (doc["category_id"] for doc in docs))
        return [_product(doc, names) for doc in docs]

    async def _ids(self, names: Sequence[str]) -> dict[str, ObjectId]:
        """Category ids by name; MissingCategory when one of ``names`` does not exist."""
        ids = await ids_by_name(self._categories, names)
        if len(ids) != len(set(names)):
            raise MissingCategory()
        return ids

    async def get(self, product_id: str) -> Product | None:
        doc = await self._products.find_one({"_id": ObjectId(product_id)}, stock.WITHOUT_OPS)
        return (await self._products_of([doc]))[0] if doc is not None else None

    async def get_many(self, product_ids: Sequence[str]) -> list[Product]:
        ids = [ObjectId(pid) for pid in product_ids if is_valid_id(pid)]
        docs = await self._products.find({"_id": {"$in": ids}}, stock.WITHOUT_OPS).to_list(None)
        return await self._products_of(docs)

    async def find(
        self, query: ProductQuery, *, offset: int, limit: int, after: Key | None = None
    ) -> PageResult[Product]:
        category_ids: list[ObjectId] = []
        if query.categories is not None:
            category_ids = list((await ids_by_name(self._categories, query.categories)).values())
        spec = build_filter(query, category_ids)
        if query.search_terms and query.sort is ProductSort.RELEVANCE:
            docs, total = await asyncio.gather(
                self._ranked(spec, offset=offset, limit=limit + 1, after=after),
                self._products.count_documents(spec, limit=count_limit()),
            )
            field = "score"
        else:
            sort = _SORTS.get(query.sort, _SORTS[ProductSort.NEWEST])
            field = sort[0][0]
            page_spec = spec
            if after is not None:
                page_spec = {"$and": [spec, _after(sort, after)]}
            cursor = self._products.find(page_spec, stock.WITHOUT_OPS).sort(sort)
            docs, total = await asyncio.gather(
                cursor.skip(offset).limit(limit + 1).to_list(None),
                self._products.count_documents(spec, limit=count_limit()),
            )
        next_key: Key | None = None
        if len(docs) > limit:
            docs = docs[:limit]
            next_key = (_key_value(docs[-1][field]), str(docs[-1]["_id"]))
        counted, exact = capped_total(int(total))
        return PageResult(
            items=await self._products_of(docs),
            total=counted,
            next_key=next_key,
            total_exact=exact,
        )

    async def _ranked(
        self, spec: Document, *, offset: int, limit: int, after: Key | None
    ) -> list[Document]:
        """Best text match first (``score`` descending, then ``_id`` descending)."""
        pipeline: list[Document] = [
            {"$match": spec},
            {"$addFields": {"score": _TEXT_SCORE}},
        ]
        if after is not None:
            score, last = check_key(after, float, str)
            last_id = str(last)
            if not is_valid_id(last_id):
                raise InvalidCursor()
            pipeline.append(
                {
                    "$match": {
                        "$or": [
                            {"score": {"$lt": float(score)}},
                            {"score": float(score), "_id": {"$lt": ObjectId(last_id)}},
                        ]
                    }
                }
            )
        pipeline += [
            {"$sort": {"score": -1, "_id": -1}},
            {"$skip": offset},
            {"$limit": limit},
            {"$project": stock.WITHOUT_OPS},
        ]
        docs: list[Document] = await self._products.aggregate(pipeline).to_list(None)
        return docs

    async def count(self) -> int:
        return int(await self._products.count_documents({}))

    async def create(self, product: Product) -> None:
        ids = await self._ids([product.category])
        await self._skus_free(product.id, [v.sku for v in product.variants])
        try:
            await self._products.insert_one(_document(product, ids))
        except MongoDuplicateKey as exc:
            raise _duplicate(exc) from exc
        if not await still_usable(self._categories, ids.values()):
            # The category was deleted (or is being deleted) meanwhile: withdraw the product.
            with anyio.CancelScope(shield=True):
                await self._products.delete_one({"_id": ObjectId(product.id)})
            raise MissingCategory()

    async def update(
        self, product_id: str, changes: ProductChanges, updated_at: datetime
    ) -> Product | None:
        values: dict[str, Any] = dict(changes)
        ids = await self._ids([values["category"]]) if "category" in values else {}
        plain = {key: value for key, value in values.items() if key in _PLAIN}

        def mutate(current: Product) -> Product:
            found = current.variants
            default = current.default_variant if not current.options else None
            if default is not None and ("sku" in values or "stock" in values):
                found = [
                    dataclasses.replace(
                        default,
                        sku=values.get("sku", default.sku),
                        stock=values.get("stock", default.stock),
                    )
                ]
            if "variants" in values:  # the plan on the fresh document: one write
                plan: VariantPlan = values["variants"]
                found = [
                    Variant(**{**dataclasses.asdict(v), **plan.edits.get(v.id, {})}) for v in found
                ]
                found.extend(plan.added)
            return dataclasses.replace(
                current,
                base_price=values.get("price", current.own_price),
                options=values.get("options", current.options),
                images=values.get("images", current.images),
                variants=found,
            )

        before, after = await self._rewrite(product_id, updated_at, mutate, _fields(plain, ids))
        if before is None or after is None:
            return None
        if ids and not await still_usable(self._categories, ids.values()):
            # Moved into a category deleted meanwhile: put the product back where it was.
            with anyio.CancelScope(shield=True):
                await self._products.update_one(
                    {"_id": ObjectId(product_id), "category_id": ids[values["category"]]},
                    {"$set": {"category_id": before.get("category_id")}},
                )
            raise MissingCategory()
        return after

    async def add_variant(
        self, product_id: str, variant: Variant, updated_at: datetime
    ) -> Product | None:
        def mutate(current: Product) -> Product:
            return dataclasses.replace(current, variants=[*current.variants, variant])

        return (await self._rewrite(product_id, updated_at, mutate))[1]

    async def update_variant(
        self, product_id: str, variant_id: str, changes: VariantChanges, updated_at: datetime
    ) -> Product | None:
        def mutate(current: Product) -> Product:
            found = [
                Variant(**{**dataclasses.asdict(v), **changes}) if v.id == variant_id else v
                for v in current.variants
            ]
            return dataclasses.replace(current, variants=found)

        return (await self._rewrite(product_id, updated_at, mutate))[1]

    async def _rewrite(
        self,
        product_id: str,
        updated_at: datetime,
        mutate: Callable[[Product], Product],
        plain: Document | None = None,
    ) -> tuple[Document | None, Product | None]:
        """Read, change and write back the product's variant part and aggregates, only if no
        stock change moved ``version`` meanwhile (then again); ``plain`` fields go along."""
        oid = ObjectId(product_id)
        for _ in range(_REWRITE_ATTEMPTS):
            before = await self._products.find_one({"_id": oid}, stock.WITHOUT_OPS)
            if before is None:
                return None, None
            current = (await self._products_of([before]))[0]
            wanted = mutate(current)
            try:
                check_variants(wanted.options, wanted.variants)
            except VariantRuleBroken as broken:
                if broken.duplicate:
                    raise DuplicateKeyError("option_values") from None
                raise
            await self._skus_free(product_id, [v.sku for v in wanted.variants])
            fields, unset = variants.derived(wanted.own_price, wanted.variants, wanted.images)
            fields.update(plain or {})
            fields.update(
                base_price=to_decimal128(wanted.own_price),
                options=variants.encode_options(wanted.options),
                updated_at=updated_at,
            )
            update: Document = {"$set": fields, "$inc": {"version": 1}}
            if "sku" in fields and fields["sku"] is None:
                del fields["sku"]
                unset["sku"] = ""
            if unset:
                update["$unset"] = unset
            try:
                done = await self._products.update_one(
                    {"_id": oid, "version": before.get("version")}, update
                )
            except MongoDuplicateKey as exc:
                raise _duplicate(exc) from exc
            if done.modified_count == 1 or done.matched_count == 1:
                after = await self._products.find_one({"_id": oid}, stock.WITHOUT_OPS)
                if after is None:
                    return before, None
                return before, (await self._products_of([after]))[0]
        raise RuntimeError("the product kept changing while its variants were written")

    async def upsert_many(self, rows: Sequence[BulkRow], now: datetime) -> BulkOutcome:
        ids = await self._ids([row.draft.category for row in rows])
        # One read of the rows' skus: a row equal to the stored product is not written, and
        # the stored documents are kept to undo a row whose category is deleted meanwhile.
        skus = [row.draft.sku for row in rows if row.draft.sku is not None]
        docs = await self._products.find({"sku": {"$in": skus}}).to_list(None) if skus else []
        prior = {doc["sku"]: doc for doc in docs}
        stored = {product.sku: product for product in await self._products_of(docs)}
        unchanged = [
            row.index
            for row in rows
            if row.draft.sku in stored and not bulk_row_changes(row, stored[row.draft.sku])
        ]
        skipped = set(unchanged)
        rows = [row for row in rows if row.index not in skipped]
        if not rows:
            return BulkOutcome(created=[], updated=[], failed=[], unchanged=unchanged)
        planned: list[tuple[UpdateOne | InsertOne[Document], ObjectId | None]] = []
        refused: dict[int, str] = {}
        taken = await self._taken_skus(rows, stored)
        for position, row in enumerate(rows):
            try:
                planned.append(_upsert(row, now, ids, prior, stored, taken))
            except VariantRuleBroken as broken:
                refused[position] = str(broken)
        operations = [operation for operation, _ in planned]
        indexes = [position for position in range(len(rows)) if position not in refused]
        try:
            result = (
                await self._products.bulk_write(operations, ordered=False) if operations else None
            )
            upserted_ids = dict(result.upserted_ids) if result is not None else {}
            errors: dict[int, str] = {}
        except BulkWriteError as exc:  # ordered=False: every other row was still written
            upserted_ids = {item["index"]: item["_id"] for item in exc.details.get("upserted", [])}
            errors = {
                item["index"]: (
                    "Another write took this sku at the same time; retry the row."
                    if item.get("code") == 11000
                    else "The database refused this row."
                )
                for item in exc.details.get("writeErrors", [])
            }
        # Operation positions -> row positions (rows the variant rules refused wrote nothing).
        upserted_ids = {indexes[i]: oid for i, oid in upserted_ids.items()}
        errors = {indexes[i]: detail for i, detail in errors.items()}
        errors.update(refused)
        inserted = {indexes[i]: planned[i][1] for i in range(len(planned))}
        upserted = set(upserted_ids)
        usable = await still_usable(self._categories, ids.values())
        gone = {name for name, oid in ids.items() if oid not in usable}
        for position, row in enumerate(rows):
            if row.draft.category in gone and position not in errors:
                with anyio.CancelScope(shield=True):
                    await self._withdraw(row, inserted.get(position), prior, ids)
                errors[position] = f"Category {row.draft.category!r} was deleted meanwhile."
        created, updated, failed = [], [], []
        for position, row in enumerate(rows):
            if position in errors:
                failed.append(BulkFailure(row.index, row.draft.sku, errors[position]))
            elif position in upserted or row.draft.sku is None:
                created.append(row.index)
            else:
                updated.append(row.index)
        return BulkOutcome(created=created, updated=updated, failed=failed, unchanged=unchanged)

    async def _taken_skus(
        self, rows: Sequence[BulkRow], stored: dict[str | None, Product]
    ) -> dict[str, str]:
        """Variant skus of the rows held by some product: sku -> that product's id."""
        skus = [d.sku for row in rows for d in row.draft.variants if d.sku is not None]
        skus += [row.draft.sku for row in rows if row.draft.sku and not row.draft.options]
        if not skus:
            return {}
        docs = await self._products.find(
            {"variant_skus": {"$in": skus}}, {"variant_skus": 1}
        ).to_list(None)
        return {sku: str(doc["_id"]) for doc in docs for sku in doc.get("variant_skus", [])}

    async def _withdraw(
        self,
        row: BulkRow,
        inserted: ObjectId | None,
        prior: dict[str, Document],
        ids: dict[str, ObjectId],
    ) -> None:
        """Undo one written import row: remove what it created, restore what it updated."""
        if inserted is not None:
            await self._products.delete_one({"_id": inserted})
            return
        spec = {"sku": row.draft.sku, "category_id": ids[row.draft.category]}
        before = prior.get(row.draft.sku or "")
        if before is None:
            await self._products.delete_one(spec)
        else:
            await self._products.replace_one(spec, before)

    async def reserve(self, reservation_id: str, lines: Sequence[StockLine]) -> ReserveOutcome:
        return await stock.reserve(self._products, self._reservations, reservation_id, lines)

    async def release(self, reservation_id: str) -> None:
        await stock.release(self._products, self._reservations, reservation_id)


def _upsert(
    row: BulkRow,
    now: datetime,
    ids: dict[str, ObjectId],
    prior: dict[str, Document],
    stored: dict[str | None, Product],
    taken: dict[str, str],
) -> tuple[UpdateOne | InsertOne[Document], ObjectId | None]:
    """The write of one row, and the id it inserts when it always inserts (no sku).

    A new sku inserts the whole product (upsert on the sku, so a racing import of the same
    sku makes one product); a stored one is rewritten whole from its merged state, only if
    its ``version`` is still the one read (else the upsert collides on the sku index and the
    row is reported, never half-applied).
    """
    if row.draft.sku is None or row.draft.sku not in stored:
        check_new_row(row)
        new = row.new_product(now)
        _check_taken(new, taken)
        doc = _document(new, ids)
        if row.draft.sku is None:  # nothing to match on: always a new product
            return InsertOne(doc), doc["_id"]
        del doc["sku"]
        return UpdateOne({"sku": row.draft.sku}, {"$setOnInsert": doc}, upsert=True), None
    current = stored[row.draft.sku]
    options, merged = bulk_plan(row, current)
    plain = {name: getattr(row.draft, name) for name in _PLAIN if name in row.fields}
    product = dataclasses.replace(
        current,
        **{name: value for name, value in plain.items() if name != "category"},
        category=row.draft.category if "category" in row.fields else current.category,
        base_price=row.draft.price if "price" in row.fields else current.own_price,
        options=options,
        variants=merged,
        images=bulk_images(row, current),
        updated_at=now,
    )
    _check_taken(product, taken)
    doc = _document(product, ids | {current.category: prior[row.draft.sku]["category_id"]})
    for name in ("_id", "created_at", "version", "sku"):
        doc.pop(name, None)
    update: Document = {"$set": doc, "$inc": {"version": 1}}
    if "variant_skus" not in doc:
        update["$unset"] = {"variant_skus": ""}
    version = prior[row.draft.sku].get("version")
    return UpdateOne({"sku": row.draft.sku, "version": version}, update, upsert=True), None


def _check_taken(product: Product, taken: dict[str, str]) -> None:
    for variant in product.variants:
        holder = taken.get(variant.sku or "")
        if holder is not None and holder != product.id:
            raise VariantRuleBroken(
                f"Variant sku {variant.sku!r} is taken by another product.", duplicate=True
            )
