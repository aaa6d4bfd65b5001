"""PostgreSQL storage for products (and, re-exported, categories and stock reservations).

Prices are ``numeric(12,2)``: asyncpg hands them over as ``Decimal``, never a float. ``seq``
(an identity column) is the stable tie-break of every sort. The full-text vector is a stored
generated column, so it can never drift from the row: PostgreSQL recomputes it in the same
statement as every write of the name, description or tags.

Accent folding is done by ``shopkit_fold`` (NFKD, then the combining marks removed) inside the
database, on the stored text and on the query alike. It needs no extension (``unaccent`` is
often missing on managed servers and is not immutable, so a generated column could not use
it), and it folds exactly what SQLite's ``remove_diacritics`` folds on the accented Latin
letters a catalog holds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from shopkit_server.pagination import Key, PageResult, capped_total
from shopkit_server.products.models import (
    BulkFailure,
    BulkOutcome,
    BulkRow,
    Product,
    ProductChanges,
    ProductQuery,
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
from shopkit_server.store.postgres import stock, variants
from shopkit_server.store.postgres.categories import SCHEMA as CATEGORY_SCHEMA
from shopkit_server.store.postgres.categories import PostgresCategoryRepository
from shopkit_server.store.postgres.db import Connection, Database, Record
from shopkit_server.store.postgres.product_sql import PRODUCT_COLUMNS, build_find, encode_key

_SORT_INDEXES = {
    "products_active_newest": "is_active, created_at, seq",
    "products_active_price": "is_active, price, seq",
    "products_active_name": "is_active, name_key, seq",
    "products_category_newest": "category, is_active, created_at, seq",
    "products_category_price": "category, is_active, price, seq",
    "products_category_name": "category, is_active, name_key, seq",
    "products_featured": "is_featured, is_active, created_at, seq",
    # Lets the total of an in_stock listing count from the index alone.
    "products_active_stock": "is_active, stock",
}

SCHEMA: tuple[str, ...] = (
    *CATEGORY_SCHEMA,
    # Snowball's English stemmer ("shoes" finds "shoe", as SQLite's porter) without a stop-word
    # list: "or", "not" or "the" are words like any other, as on SQLite.
    "CREATE TEXT SEARCH DICTIONARY shopkit_english_stem (TEMPLATE = snowball, Language = english)",
    "CREATE TEXT SEARCH CONFIGURATION shopkit_search (COPY = pg_catalog.simple)",
    "ALTER TEXT SEARCH CONFIGURATION shopkit_search ALTER MAPPING FOR "
    "asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH shopkit_english_stem",
    r"""CREATE FUNCTION shopkit_fold(value text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        RETURN regexp_replace(normalize(value, NFKD), '[\u0300-\u036f]', '', 'g')""",
    # array_to_string is only "stable" in the catalog, but on a text[] it cannot change.
    """CREATE FUNCTION shopkit_search_vector(name text, description text, tags text[])
        RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
        RETURN setweight(to_tsvector('shopkit_search', shopkit_fold(name)), 'A')
            || setweight(to_tsvector('shopkit_search',
                                     shopkit_fold(array_to_string(tags, ' '))), 'B')
            || setweight(to_tsvector('shopkit_search', shopkit_fold(description)), 'D')""",
    """CREATE TABLE products (
        id text COLLATE "C" PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        sku text UNIQUE,
        name text NOT NULL,
        name_key text COLLATE "C" NOT NULL,
        description text NOT NULL DEFAULT '',
        price numeric(12, 2) NOT NULL CHECK (price > 0),
        category text COLLATE "C" NOT NULL REFERENCES categories (name) ON UPDATE CASCADE,
        tags text[] NOT NULL DEFAULT '{}',
        image_url text,
        stock integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
        is_active boolean NOT NULL DEFAULT true,
        is_featured boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        search tsvector NOT NULL
            GENERATED ALWAYS AS (shopkit_search_vector(name, description, tags)) STORED
    )""",
    *(f"CREATE INDEX {name} ON products ({columns})" for name, columns in _SORT_INDEXES.items()),
    "CREATE INDEX products_tags ON products USING gin (tags)",
    "CREATE INDEX products_search ON products USING gin (search)",
    *stock.SCHEMA,
)

__all__ = ["SCHEMA", "PostgresCategoryRepository", "PostgresProductRepository"]

_INSERT = (
    "INSERT INTO products (id, sku, name, name_key, description, price, category, tags, "
    "image_url, stock, is_active, is_featured, created_at, updated_at, base_price, options, "
    "images, option_words) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
)


def _product(row: Record, start: int = 0, found: list[Variant] | None = None) -> Product:
    return Product(
        id=row[start],
        sku=row[start + 1],
        name=row[start + 2],
        description=row[start + 3],
        price=row[start + 4],
        category=row[start + 5],
        tags=list(row[start + 6]),
        image_url=row[start + 7],
        stock=row[start + 8],
        is_active=row[start + 9],
        is_featured=row[start + 10],
        created_at=row[start + 11],
        updated_at=row[start + 12],
        base_price=row[start + 13],
        options=variants.decode_options(row[start + 14]),
        variants=list(found or []),
        images=variants.decode_images(row[start + 15]),
    )


def _insert_args(product: Product) -> tuple[Any, ...]:
    return (
        product.id,
        product.sku,
        product.name,
        product.name.casefold(),
        product.description,
        product.price,
        product.category,
        list(product.tags),
        product.image_url,
        product.stock,
        product.is_active,
        product.is_featured,
        product.created_at,
        product.updated_at,
        product.own_price,
        variants.encode_options(product.options),
        variants.encode_images(product.images),
        option_words(product.variants),
    )


def _column_values(changes: ProductChanges) -> dict[str, Any]:
    """Map a change set onto columns (price -> base_price, tags -> a list, options/images ->
    JSON, name -> name_key too); ``stock`` and ``image_url`` are derived, never set here."""
    values: dict[str, Any] = {}
    given: dict[str, Any] = dict(changes)
    for key, value in given.items():
        if key == "price":
            values["base_price"] = value
        elif key == "options":
            values["options"] = variants.encode_options(value)
        elif key == "images":
            values["images"] = variants.encode_images(value)
        elif key in ("stock", "image_url", "variants"):
            continue
        else:
            values[key] = list(value) if key == "tags" else value
        if key == "name":
            values["name_key"] = value.casefold()
    return values


def _integrity(exc: asyncpg.IntegrityConstraintViolationError) -> Exception:
    constraint = exc.constraint_name or ""
    if isinstance(exc, asyncpg.UniqueViolationError) and "sku" in constraint:
        return DuplicateKeyError("sku")
    if isinstance(exc, asyncpg.UniqueViolationError) and "combination" in constraint:
        return DuplicateKeyError("option_values")
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return MissingCategory()
    return exc


class PostgresProductRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, product_id: str) -> Product | None:
        row = await self._db.fetchrow(
            f"SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.id = $1", product_id
        )
        if row is None:
            return None
        found = await variants.load(self._db, [product_id])
        return _product(row, 0, found.get(product_id))

    async def get_many(self, product_ids: Sequence[str]) -> list[Product]:
        if not product_ids:
            return []
        rows = await self._db.fetch(
            f"SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.id = ANY($1::text[])",
            list(product_ids),
        )
        found = await variants.load(self._db, [row[0] for row in rows])
        return [_product(row, 0, found.get(row[0])) for row in rows]

    async def find(
        self, query: ProductQuery, *, offset: int, limit: int, after: Key | None = None
    ) -> PageResult[Product]:
        sql = build_find(query, after=after)
        # One row past the page says whether another follows (its key is the last item's).
        rows = await self._db.fetch(sql.page, *sql.page_params(limit=limit + 1, offset=offset))
        if rows:
            page = rows[:limit]
            next_key: Key | None = None
            if len(rows) > limit:
                last = page[-1]
                next_key = encode_key(sql.sort, last[-2], int(last[-1]))
            found = await variants.load(self._db, [row[1] for row in page])
            total, exact = capped_total(int(rows[0][0]))
            return PageResult(
                items=[_product(row, 1, found.get(row[1])) for row in page],
                total=total,
                next_key=next_key,
                total_exact=exact,
            )
        if offset == 0 and after is None:
            return PageResult(items=[], total=0)
        counted = await self._db.fetchval(sql.count, *sql.params)  # past the last page
        total, exact = capped_total(int(counted))
        return PageResult(items=[], total=total, total_exact=exact)

    async def count(self) -> int:
        return int(await self._db.fetchval("SELECT count(*) FROM products"))

    async def create(self, product: Product) -> None:
        async def run(conn: Connection) -> None:
            await conn.execute(_INSERT, *_insert_args(product))
            await variants.upsert(conn, product.id, product.variants)

        try:
            await self._db.transaction(run)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise _integrity(exc) from exc

    async def update(
        self, product_id: str, changes: ProductChanges, updated_at: datetime
    ) -> Product | None:
        values = _column_values(changes)
        values["updated_at"] = updated_at
        # Only known field names ever become column names.
        assignments = ", ".join(f"{column} = ${n}" for n, column in enumerate(values, 2))

        async def run(conn: Connection) -> Product | None:
            hit = await conn.fetchval(
                f"UPDATE products p SET {assignments} WHERE p.id = $1 RETURNING p.id",
                product_id,
                *values.values(),
            )
            if hit is None:
                return None
            for key in ("sku", "stock"):  # a product without options: its variant's too
                if key in changes:
                    await conn.execute(
                        f"UPDATE product_variants SET {key} = $2 WHERE product_id = $1 "
                        "AND option_keys = '{}'",
                        product_id,
                        changes[key],
                    )
            if "variants" in changes:  # in this transaction, before the aggregates
                plan = changes["variants"]
                await _free_moving(conn, product_id, plan)
                for variant_id, edit in plan.edits.items():
                    await variants.change(conn, product_id, variant_id, edit)
                await variants.upsert(conn, product_id, plan.added)
            return await _refreshed(conn, product_id)

        try:
            return await self._db.transaction(run)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise _integrity(exc) from exc

    async def add_variant(
        self, product_id: str, variant: Variant, updated_at: datetime
    ) -> Product | None:
        async def write(conn: Connection) -> None:
            await variants.upsert(conn, product_id, [variant])

        return await self._variant_write(product_id, updated_at, write)

    async def update_variant(
        self, product_id: str, variant_id: str, changes: VariantChanges, updated_at: datetime
    ) -> Product | None:
        async def write(conn: Connection) -> None:
            await variants.change(conn, product_id, variant_id, changes)

        return await self._variant_write(product_id, updated_at, write)

    async def _variant_write(
        self,
        product_id: str,
        updated_at: datetime,
        write: Callable[[Connection], Awaitable[None]],
    ) -> Product | None:
        async def run(conn: Connection) -> Product | None:
            # The product row first: it serialises this write with a reservation's lock.
            hit = await conn.fetchval(
                "UPDATE products SET updated_at = $2 WHERE id = $1 RETURNING id",
                product_id,
                updated_at,
            )
            if hit is None:
                return None
            await write(conn)
            return await _refreshed(conn, product_id)

        try:
            return await self._db.transaction(run)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise _integrity(exc) from exc

    async def upsert_many(self, rows: Sequence[BulkRow], now: datetime) -> BulkOutcome:
        async def run(conn: Connection) -> BulkOutcome:
            created: list[int] = []
            updated: list[int] = []
            unchanged: list[int] = []
            failed: list[BulkFailure] = []
            skus = [row.draft.sku for row in rows if row.draft.sku]
            # Locked in sku order, so two imports touching the same products never deadlock;
            # the lock also keeps the compared state the one the row would overwrite.
            found = await conn.fetch(
                f"SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.sku = ANY($1::text[]) "
                "ORDER BY p.sku FOR UPDATE",
                skus,
            )
            loaded = await variants.load(conn, [row[0] for row in found])
            existing = {
                product.sku: product
                for product in (_product(row, 0, loaded.get(row[0])) for row in found)
            }
            for row in rows:
                current = existing.get(row.draft.sku or "")
                if current is not None and not bulk_row_changes(row, current):
                    unchanged.append(row.index)
                    continue
                # A savepoint per row: a row the database refuses is reported, the rest stay.
                try:
                    async with conn.transaction():
                        if current is None:
                            check_new_row(row)
                            new = row.new_product(now)
                            await conn.execute(_INSERT, *_insert_args(new))
                            await variants.upsert(conn, new.id, new.variants)
                            created.append(row.index)
                        else:
                            await _update_fields(conn, current, row, now)
                            updated.append(row.index)
                except VariantRuleBroken as broken:
                    failed.append(BulkFailure(row.index, row.draft.sku, str(broken)))
                except asyncpg.IntegrityConstraintViolationError as exc:
                    reason = _integrity(exc)
                    detail = (
                        f"Category {row.draft.category!r} does not exist."
                        if isinstance(reason, MissingCategory)
                        else "A sku of this row is taken by another product or variant."
                        if isinstance(reason, DuplicateKeyError)
                        else "The database refused this row."
                    )
                    failed.append(BulkFailure(row.index, row.draft.sku, detail))
            return BulkOutcome(created=created, updated=updated, failed=failed, unchanged=unchanged)

        return await self._db.transaction(run)

    async def reserve(self, reservation_id: str, lines: Sequence[StockLine]) -> ReserveOutcome:
        return await stock.reserve(self._db, reservation_id, lines)

    async def release(self, reservation_id: str) -> None:
        await stock.release(self._db, reservation_id)


async def _refreshed(conn: Connection, product_id: str) -> Product | None:
    """Recompute the product's derived columns, then read it back with its variants."""
    await conn.execute(variants.REFRESH, product_id)
    row = await conn.fetchrow(
        f"SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.id = $1", product_id
    )
    if row is None:
        return None
    found = await variants.load(conn, [product_id])
    return _product(row, 0, found.get(product_id))


async def _update_fields(conn: Connection, current: Product, row: BulkRow, now: datetime) -> None:
    """Write a row onto the stored product: only the fields it carries; variants by sku."""
    options, merged = bulk_plan(row, current)
    # Only known fields ever become column names.
    changes: dict[str, Any] = {
        name: getattr(row.draft, name)
        for name in ("name", "description", "price", "category", "tags", "is_active", "is_featured")
        if name in row.fields
    }
    changes["options"] = options
    changes["images"] = bulk_images(row, current)
    values = _column_values(ProductChanges(**changes))  # type: ignore[typeddict-item]
    values["updated_at"] = now
    assignments = ", ".join(f"{column} = ${n}" for n, column in enumerate(values, 2))
    await conn.execute(
        f"UPDATE products SET {assignments} WHERE id = $1", current.id, *values.values()
    )
    kept = {variant.id for variant in merged}
    gone = [variant.id for variant in current.variants if variant.id not in kept]
    if gone:
        await conn.execute("DELETE FROM product_variants WHERE id = ANY($1::text[])", gone)
    await variants.upsert(conn, current.id, merged)
    await conn.execute(variants.REFRESH, current.id)


async def _free_moving(conn: Connection, product_id: str, plan: VariantPlan) -> None:
    """Clear the skus and combinations the plan's edits move, so two variants may swap them
    (unique indexes check row by row; the service checked the set after the change)."""
    for column, value, field in (
        ("sku", "NULL", "sku"),
        ("option_keys", "ARRAY['#' || id]", "option_values"),
    ):
        ids = [vid for vid, edit in plan.edits.items() if field in edit]
        if ids:
            await conn.execute(
                f"UPDATE product_variants SET {column} = {value} "
                "WHERE product_id = $1 AND id = ANY($2::text[])",
                product_id,
                ids,
            )
