"""SQLite storage for products, categories and stock reservations.

Prices are integer cents. ``seq`` (the rowid) is the stable integer key the full-text index
(FTS5, external content) and the tag index point at; triggers keep both in step with the
``products`` table inside the same transaction as every write, so they can never drift.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any

import aiosqlite

from shopkit_server.money import to_cents
from shopkit_server.pagination import Key, PageResult, capped_total
from shopkit_server.products.models import (
    BulkFailure,
    BulkOutcome,
    BulkRow,
    Product,
    ProductChanges,
    ProductOption,
    ProductQuery,
    ProductSort,
    ReserveOutcome,
    StockLine,
    Variant,
    VariantChanges,
    VariantPlan,
    bulk_images,
    bulk_row_changes,
    option_words,
)
from shopkit_server.products.repository import MissingCategory
from shopkit_server.products.variants import VariantRuleBroken, bulk_plan, check_new_row
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.store.sqlite import multirow, product_sql, stock, variants
from shopkit_server.store.sqlite.categories import SCHEMA as CATEGORY_SCHEMA
from shopkit_server.store.sqlite.categories import SqliteCategoryRepository
from shopkit_server.store.sqlite.db import Database, Row
from shopkit_server.store.sqlite.listing_counts import CountMemo, memo_key
from shopkit_server.store.sqlite.product_sql import PRODUCT_COLUMNS, FindSql, build_find

_FTS_ROW = "new.seq, new.name, new.description, new.tags"
_FTS_DELETE = (
    "INSERT INTO products_fts(products_fts, rowid, name, description, tags) "
    "VALUES ('delete', old.seq, old.name, old.description, old.tags);"
)
_TAGS_INSERT = (
    "INSERT OR IGNORE INTO product_tags(tag, product_seq) "
    "SELECT value, new.seq FROM json_each(new.tags);"
)

SCHEMA: tuple[str, ...] = (
    *CATEGORY_SCHEMA,
    """CREATE TABLE products (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        sku TEXT UNIQUE,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        price_cents INTEGER NOT NULL CHECK (price_cents > 0),
        category TEXT NOT NULL REFERENCES categories(name) ON UPDATE CASCADE,
        tags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
        image_url TEXT,
        stock INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
        is_active INTEGER NOT NULL DEFAULT 1,
        is_featured INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    # One index per sort (active products first), the seed's category + price pair, one for
    # the featured shelf. The rowid closes every index, which is the sorts' tie-break.
    "CREATE INDEX products_active_newest ON products (is_active, created_at)",
    "CREATE INDEX products_active_price ON products (is_active, price_cents)",
    "CREATE INDEX products_active_name ON products (is_active, name_key)",
    "CREATE INDEX products_category_newest ON products (category, is_active, created_at)",
    "CREATE INDEX products_category_price ON products (category, is_active, price_cents)",
    "CREATE INDEX products_featured ON products (is_featured, is_active, created_at)",
    # Lets the total of an in_stock listing count from the index alone.
    "CREATE INDEX products_active_stock ON products (is_active, stock)",
    """CREATE TABLE product_tags (
        tag TEXT NOT NULL,
        product_seq INTEGER NOT NULL REFERENCES products(seq) ON DELETE CASCADE,
        PRIMARY KEY (tag, product_seq)
    ) WITHOUT ROWID""",
    "CREATE INDEX product_tags_product ON product_tags (product_seq)",
    # porter: "shoes" finds "shoe"; remove_diacritics: "cafe" finds "Café"; prefix indexes
    # make the "headph*" of an incremental search cheap.
    """CREATE VIRTUAL TABLE products_fts USING fts5(
        name, description, tags,
        content='products', content_rowid='seq',
        tokenize='porter unicode61 remove_diacritics 2', prefix='2 3'
    )""",
    f"""CREATE TRIGGER products_after_insert AFTER INSERT ON products BEGIN
        INSERT INTO products_fts(rowid, name, description, tags) VALUES ({_FTS_ROW});
        {_TAGS_INSERT}
    END""",
    f"""CREATE TRIGGER products_after_update_text
        AFTER UPDATE OF name, description, tags ON products BEGIN
        {_FTS_DELETE}
        INSERT INTO products_fts(rowid, name, description, tags) VALUES ({_FTS_ROW});
    END""",
    f"""CREATE TRIGGER products_after_update_tags AFTER UPDATE OF tags ON products BEGIN
        DELETE FROM product_tags WHERE product_seq = old.seq;
        {_TAGS_INSERT}
    END""",
    f"""CREATE TRIGGER products_after_delete AFTER DELETE ON products BEGIN
        {_FTS_DELETE}
    END""",
    *stock.SCHEMA,
)

__all__ = ["SCHEMA", "SqliteCategoryRepository", "SqliteProductRepository"]


def tags_json(tags: list[str]) -> str:
    """``json.dumps(tags)``, the same text, without its per-call set-up (a list of strings only:
    every tag is one; a bulk import writes one such list per row)."""
    return "[" + ", ".join(map(encode_basestring_ascii, tags)) + "]"


def to_db_time(moment: datetime) -> str:
    """Fixed-width UTC text, so that text order is time order (the newest-first index)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _product(row: Row | tuple[Any, ...]) -> Product:
    # Indexed access and scaleb (exact: 1999 -> 19.99) keep this cheap on the hot read path.
    return Product(
        id=row[0],
        sku=row[1],
        name=row[2],
        description=row[3],
        price=Decimal(row[4]).scaleb(-2),
        category=row[5],
        tags=variants.stored_json(row[6]),
        image_url=row[7],
        stock=row[8],
        is_active=bool(row[9]),
        is_featured=bool(row[10]),
        created_at=datetime.fromisoformat(row[11]),
        updated_at=datetime.fromisoformat(row[12]),
        base_price=None if row[13] is None else Decimal(row[13]).scaleb(-2),
        options=variants.decode_options(row[14]),
        variants=variants.variants_from_json(row[16]),
        images=variants.decode_images(row[15]),
    )


def _column_values(changes: ProductChanges) -> dict[str, Any]:
    """Map a change set onto columns (price -> base cents, tags/options/images -> JSON, name ->
    name_key too). ``stock`` and ``image_url`` are derived: they never become columns here."""
    values: dict[str, Any] = {}
    given: dict[str, Any] = dict(changes)
    for key, value in given.items():
        if key == "price":
            values["base_price_cents"] = to_cents(value)
        elif key == "tags":
            values["tags"] = tags_json(value)
        elif key == "options":
            values["options"] = variants.encode_options(value)
        elif key == "images":
            values["images"] = variants.encode_images(value)
        elif key in ("is_active", "is_featured"):
            values[key] = int(value)
        elif key in ("stock", "image_url", "variants"):
            continue
        else:
            values[key] = value
        if key == "name":
            values["name_key"] = value.casefold()
    return values


def _integrity(exc: sqlite3.IntegrityError) -> Exception:
    message = str(exc)
    if "products.sku" in message or "product_variants.sku" in message:
        return DuplicateKeyError("sku")
    if "product_variants.product_id" in message:
        return DuplicateKeyError("option_values")
    if "FOREIGN KEY" in message:
        return MissingCategory()
    return exc


class _BatchRefused(Exception):
    """The database refused a row of a bulk upsert attempted without savepoints."""


class SqliteProductRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._counts = CountMemo()

    async def get(self, product_id: str) -> Product | None:
        row = await self._db.read_one_now(
            f"SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.id = ?", (product_id,)
        )
        if row is None:
            return None
        return _product(row)

    async def get_many(self, product_ids: Sequence[str]) -> list[Product]:
        rows: list[Row] = []
        for start in range(0, len(product_ids), 500):
            chunk = list(product_ids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            rows.extend(
                await self._db.read_now(
                    f"SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.id IN ({marks})", chunk
                )
            )
        return [_product(row) for row in rows]

    async def find(
        self, query: ProductQuery, *, offset: int, limit: int, after: Key | None = None
    ) -> PageResult[Product]:
        # One row past the page says whether another follows (its key is the last item's).
        sql = build_find(query, offset=offset, limit=limit + 1, after=after)
        if query.search_terms and query.sort is ProductSort.RELEVANCE:
            return await self._search(query, sql, offset=offset, limit=limit, after=after)
        # The total: the memo's while the count revision has not moved, else counted in the
        # same statement (see listing_counts). A page that need not count is usually a short
        # walk of its index: tried on the loop thread, within a budget.
        key = memo_key(sql.count, sql.count_params)
        memo = self._counts.get(key)
        if memo is None:
            rows = await self._db.fetch_all(*sql.page_with_total_since(-1))
        else:
            rows = await self._db.read_bounded(*sql.page_with_total_since(memo[0]))
        if rows:
            page = [tuple(row) for row in rows[:limit]]
            next_key: Key | None = None
            if len(rows) > limit:
                next_key = (page[-1][-2], int(page[-1][-1]))
            revision, counted = int(rows[0][0]), int(rows[0][1])
            if counted < 0 and memo is not None:
                counted = memo[1]
            else:
                self._counts.put(key, revision, counted)
            total, exact = capped_total(counted)
            return PageResult(
                items=[_product(row[2:-2]) for row in page],
                total=total,
                next_key=next_key,
                total_exact=exact,
            )
        if offset == 0 and after is None:
            return PageResult(items=[], total=0)
        # Past the last page.
        revision, counted = (await self._db.fetch_all(*sql.count_with_revision))[0]
        self._counts.put(key, int(revision), int(counted))
        total, exact = capped_total(int(counted))
        return PageResult(items=[], total=total, total_exact=exact)

    async def _search(
        self, query: ProductQuery, sql: FindSql, *, offset: int, limit: int, after: Key | None
    ) -> PageResult[Product]:
        """A search by relevance: the capped count first; when more match than the cap, only
        the ``RANKED_WINDOW`` most recently added matches are ranked (see ``build_find``)."""
        counted = await self._db.fetch_all(sql.count, sql.count_params)
        total, exact = capped_total(int(counted[0][0]))
        if not exact:
            window = product_sql.RANKED_WINDOW
            sql = build_find(query, offset=offset, limit=limit + 1, after=after, ranked=window)
        rows = [tuple(row) for row in await self._db.fetch_all(sql.page, sql.page_params)]
        page = rows[:limit]
        next_key: Key | None = None
        if len(rows) > limit:
            next_key = (page[-1][-2], int(page[-1][-1]))
        return PageResult(
            items=[_product(row[:-2]) for row in page],
            total=total,
            next_key=next_key,
            total_exact=exact,
        )

    async def count(self) -> int:
        row = await self._db.fetch_one("SELECT COUNT(*) FROM products")
        assert row is not None
        return int(row[0])

    async def create(self, product: Product) -> None:
        try:
            async with self._db.write() as conn:
                await _insert(conn, product)
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc) from exc

    async def update(
        self,
        product_id: str,
        changes: ProductChanges,
        updated_at: datetime,
    ) -> Product | None:
        values = _column_values(changes)
        values["updated_at"] = to_db_time(updated_at)
        assignments = ", ".join(f"{column} = ?" for column in values)
        try:
            async with self._db.write() as conn:
                cursor = await conn.execute(
                    f"UPDATE products SET {assignments} WHERE id = ?",
                    [*values.values(), product_id],
                )
                hit = cursor.rowcount == 1
                await cursor.close()
                if not hit:
                    return None
                for key in ("sku", "stock"):  # a product without options: its variant's
                    if key in changes:
                        await conn.execute(
                            f"UPDATE product_variants SET {key} = ? WHERE product_id = ? "
                            "AND option_keys = '|'",
                            (changes[key], product_id),
                        )
                if "variants" in changes:  # in this transaction, before the aggregates
                    plan = changes["variants"]
                    await _free_moving(conn, product_id, plan)
                    for variant_id, edit in plan.edits.items():
                        await variants.change(conn, product_id, variant_id, edit)
                    await variants.upsert(conn, product_id, plan.added)
                return await _refreshed(conn, product_id)
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc) from exc

    async def add_variant(
        self, product_id: str, variant: Variant, updated_at: datetime
    ) -> Product | None:
        return await self._variant_write(
            product_id, updated_at, lambda conn: variants.upsert(conn, product_id, [variant])
        )

    async def update_variant(
        self, product_id: str, variant_id: str, changes: VariantChanges, updated_at: datetime
    ) -> Product | None:
        return await self._variant_write(
            product_id,
            updated_at,
            lambda conn: variants.change(conn, product_id, variant_id, changes),
        )

    async def _variant_write(
        self,
        product_id: str,
        updated_at: datetime,
        write: Callable[[aiosqlite.Connection], Awaitable[None]],
    ) -> Product | None:
        try:
            async with self._db.write() as conn:
                cursor = await conn.execute(
                    "UPDATE products SET updated_at = ? WHERE id = ?",
                    (to_db_time(updated_at), product_id),
                )
                hit = cursor.rowcount == 1
                await cursor.close()
                if not hit:
                    return None
                await write(conn)
                return await _refreshed(conn, product_id)
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc) from exc

    async def upsert_many(self, rows: Sequence[BulkRow], now: datetime) -> BulkOutcome:
        # First the whole batch with no savepoint: a savepoint makes FTS5 flush its pending
        # terms at every statement (one index segment per row, then merges), which doubled the
        # cost of a 100k import. A row the database refuses rolls the attempt back whole; the
        # batch is then redone row by row, each row in a savepoint.
        try:
            return await self._upsert_many(rows, now, one_go=True)
        except _BatchRefused:
            return await self._upsert_many(rows, now, one_go=False)

    async def _upsert_many(
        self, rows: Sequence[BulkRow], now: datetime, *, one_go: bool
    ) -> BulkOutcome:
        created: list[int] = []
        updated: list[int] = []
        unchanged: list[int] = []
        failed: list[BulkFailure] = []
        stamp = to_db_time(now)
        async with self._db.write() as conn:
            existing = await _by_sku(conn, [row.draft.sku for row in rows if row.draft.sku])
            new: list[BulkRow] = []
            changed: list[tuple[BulkRow, Product]] = []
            for row in rows:
                current = existing.get(row.draft.sku or "")
                if current is None:
                    try:
                        check_new_row(row)
                    except VariantRuleBroken as broken:
                        failed.append(BulkFailure(row.index, row.draft.sku, str(broken)))
                        continue
                    new.append(row)
                elif bulk_row_changes(row, current):
                    changed.append((row, current))
                else:
                    unchanged.append(row.index)
            if one_go:
                try:
                    if new:
                        await _insert_all(conn, new, now, stamp)
                        created.extend(row.index for row in new)
                    for row, current in changed:
                        try:
                            plan = bulk_plan(row, current)  # before any SQL of this row
                        except VariantRuleBroken as broken:
                            failed.append(BulkFailure(row.index, row.draft.sku, str(broken)))
                            continue
                        await _update_fields(conn, current, row, stamp, plan)
                        updated.append(row.index)
                except sqlite3.IntegrityError as exc:
                    raise _BatchRefused from exc  # rolls back everything this attempt wrote
                return BulkOutcome(
                    created=created, updated=updated, failed=failed, unchanged=unchanged
                )
            for row, current in [*((row, None) for row in new), *changed]:
                await conn.execute("SAVEPOINT bulk_row")
                try:
                    if current is None:
                        await _insert(conn, row.new_product(now))
                        created.append(row.index)
                    else:
                        await _update_fields(conn, current, row, stamp, bulk_plan(row, current))
                        updated.append(row.index)
                except VariantRuleBroken as broken:
                    await conn.execute("ROLLBACK TO bulk_row")
                    failed.append(BulkFailure(row.index, row.draft.sku, str(broken)))
                except sqlite3.IntegrityError as exc:
                    await conn.execute("ROLLBACK TO bulk_row")
                    reason = _integrity(exc)
                    detail = (
                        f"Category {row.draft.category!r} does not exist."
                        if isinstance(reason, MissingCategory)
                        else "A sku of this row is taken by another product or variant."
                        if isinstance(reason, DuplicateKeyError)
                        else "The database refused this row."
                    )
                    failed.append(BulkFailure(row.index, row.draft.sku, detail))
                await conn.execute("RELEASE bulk_row")
        return BulkOutcome(created=created, updated=updated, failed=failed, unchanged=unchanged)

    async def reserve(self, reservation_id: str, lines: Sequence[StockLine]) -> ReserveOutcome:
        return await stock.reserve(self._db, reservation_id, lines)

    async def release(self, reservation_id: str) -> None:
        await stock.release(self._db, reservation_id)


async def _free_moving(conn: aiosqlite.Connection, product_id: str, plan: VariantPlan) -> None:
    """Clear the skus and combinations the plan's edits move, so two variants may swap them
    (unique indexes check row by row; the service checked the set after the change)."""
    for column, value, field in (
        ("sku", "NULL", "sku"),
        ("option_keys", "'#' || id", "option_values"),
    ):
        ids = [vid for vid, edit in plan.edits.items() if field in edit]
        if ids:
            await conn.execute(
                f"UPDATE product_variants SET {column} = {value} WHERE product_id = ? "
                f"AND id IN ({', '.join('?' * len(ids))})",
                [product_id, *ids],
            )


async def _refreshed(conn: aiosqlite.Connection, product_id: str) -> Product | None:
    """Recompute the product's derived columns, then read it back with its variants."""
    await conn.execute(variants.REFRESH, (product_id,))
    rows = await conn.execute_fetchall(
        f"SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.id = ?", (product_id,)
    )
    row = next(iter(rows), None)
    if row is None:
        return None
    return _product(row)


_INSERT_HEAD = (
    "INSERT INTO products (id, sku, name, name_key, description, price_cents, category, "
    "tags, image_url, stock, is_active, is_featured, created_at, updated_at, "
    "base_price_cents, options, images, option_words)"
)
_INSERT_WIDTH = 18
_INSERT = multirow.values_sql(_INSERT_HEAD, _INSERT_WIDTH, 1)


async def _insert(conn: aiosqlite.Connection, product: Product) -> None:
    await conn.execute(_INSERT, _insert_values(product))
    await variants.upsert(conn, product.id, product.variants)


async def _insert_all(
    conn: aiosqlite.Connection, rows: Sequence[BulkRow], now: datetime, stamp: str
) -> None:
    """Insert every row's product, then their variants, each in multi-row statements (see
    ``multirow``: one trip to the writer thread and one full-text flush per statement, not per
    row); IntegrityError when the database refuses any of them (the caller rolls the
    transaction back)."""
    products = [row.new_product(now) for row in rows]
    await multirow.insert_rows(
        conn,
        _INSERT_HEAD,
        _INSERT_WIDTH,
        [_insert_values(product, stamp) for product in products],
    )
    await variants.insert_many(conn, products)


def _insert_values(product: Product, stamp: str | None = None) -> tuple[Any, ...]:
    """The ``_INSERT`` parameters; ``stamp``: ``to_db_time`` of both times when they are the
    same moment (a bulk import's rows), computed once by the caller."""
    created = stamp if stamp is not None else to_db_time(product.created_at)
    updated = stamp if stamp is not None else to_db_time(product.updated_at)
    price_cents = to_cents(product.price)
    own_price = product.own_price  # most often the very same amount: converted once
    return (
        product.id,
        product.sku,
        product.name,
        product.name.casefold(),
        product.description,
        price_cents,
        product.category,
        tags_json(product.tags),
        product.image_url,
        product.stock,
        int(product.is_active),
        int(product.is_featured),
        created,
        updated,
        price_cents if own_price is product.price else to_cents(own_price),
        variants.encode_options(product.options),
        variants.encode_images(product.images),
        option_words(product.variants),
    )


async def _by_sku(conn: aiosqlite.Connection, skus: list[str]) -> dict[str, Product]:
    """The stored products with these skus, in one query per 500 (never one per row)."""
    rows: list[Any] = []
    for start in range(0, len(skus), 500):
        chunk = skus[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        rows.extend(
            await conn.execute_fetchall(
                f"SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.sku IN ({marks})", chunk
            )
        )
    products = [_product(row) for row in rows]
    return {product.sku: product for product in products if product.sku is not None}


async def _update_fields(
    conn: aiosqlite.Connection,
    current: Product,
    row: BulkRow,
    stamp: str,
    plan: tuple[list[ProductOption], list[Variant]],
) -> None:
    """Write a row onto the stored product: only the fields it carries; variants by sku.
    ``plan``: ``bulk_plan(row, current)``."""
    options, merged = plan
    # Only known fields ever become column names.
    changes: dict[str, Any] = {
        name: getattr(row.draft, name)
        for name in ("name", "description", "price", "category", "tags", "is_active")
        if name in row.fields
    }
    if "is_featured" in row.fields:
        changes["is_featured"] = row.draft.is_featured
    changes["options"] = options
    changes["images"] = bulk_images(row, current)
    values = _column_values(ProductChanges(**changes))  # type: ignore[typeddict-item]
    values["updated_at"] = stamp
    assignments = ", ".join(f"{column} = ?" for column in values)
    await conn.execute(
        f"UPDATE products SET {assignments} WHERE id = ?", [*values.values(), current.id]
    )
    kept = {variant.id for variant in merged}
    gone = [variant.id for variant in current.variants if variant.id not in kept]
    if gone:
        await conn.execute(
            f"DELETE FROM product_variants WHERE id IN ({', '.join('?' * len(gone))})", gone
        )
    await variants.upsert(conn, current.id, merged)
    await conn.execute(variants.REFRESH, (current.id,))
