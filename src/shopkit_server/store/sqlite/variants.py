"""SQLite storage of product variants, and the product aggregates they drive.

A variant row per buyable version of a product. The product row keeps ``price_cents`` (the
lowest active variant price), ``stock`` (the sum over active variants), ``image_url`` (the
first image) and ``option_words`` (what the full-text index finds option values by) as
derived columns: :data:`REFRESH` rewrites them in the same transaction as every variant write,
and :data:`REFRESH_STOCK` after every stock change, so every listing filter and sort reads
plain, indexed product columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from json.scanner import make_scanner
from operator import itemgetter
from typing import Any

import aiosqlite

from shopkit_server.money import to_cents
from shopkit_server.products.models import (
    Product,
    ProductImage,
    ProductOption,
    Variant,
    VariantChanges,
)
from shopkit_server.products.variants import option_keys_text
from shopkit_server.store.sqlite import multirow

_FTS_ROW = "new.seq, new.name, new.description, new.tags || ' ' || new.option_words"
_FTS_DELETE = (
    "INSERT INTO products_fts(products_fts, rowid, name, description, tags) "
    "VALUES ('delete', old.seq, old.name, old.description, old.tags || ' ' || old.option_words);"
)

# Migration 4: variants, options and the image gallery. Every existing product gets its
# default variant (its sku and stock, a new 24-hex id, the product's price); its image_url
# becomes the first image of its gallery. The full-text index also reads option values.
MIGRATION: tuple[str, ...] = (
    "ALTER TABLE products ADD COLUMN base_price_cents INTEGER",
    "ALTER TABLE products ADD COLUMN options TEXT NOT NULL DEFAULT '[]'",
    "ALTER TABLE products ADD COLUMN images TEXT NOT NULL DEFAULT '[]'",
    "ALTER TABLE products ADD COLUMN option_words TEXT NOT NULL DEFAULT ''",
    "UPDATE products SET base_price_cents = price_cents, images = CASE WHEN image_url IS NULL "
    "THEN '[]' ELSE json_array(json_object('url', image_url, 'alt', '')) END",
    """CREATE TABLE product_variants (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        product_id TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
        sku TEXT UNIQUE,
        option_values TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(option_values)),
        option_keys TEXT NOT NULL DEFAULT '|',
        price_cents INTEGER CHECK (price_cents > 0),
        stock INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
        is_active INTEGER NOT NULL DEFAULT 1,
        image_url TEXT,
        UNIQUE (product_id, option_keys)
    )""",
    "INSERT INTO product_variants (id, product_id, sku, stock) "
    "SELECT lower(hex(randomblob(12))), id, sku, stock FROM products ORDER BY seq",
    "DROP TRIGGER products_after_insert",
    "DROP TRIGGER products_after_update_text",
    "DROP TRIGGER products_after_delete",
    f"""CREATE TRIGGER products_after_insert AFTER INSERT ON products BEGIN
        INSERT INTO products_fts(rowid, name, description, tags) VALUES ({_FTS_ROW});
        INSERT OR IGNORE INTO product_tags(tag, product_seq)
        SELECT value, new.seq FROM json_each(new.tags);
    END""",
    f"""CREATE TRIGGER products_after_update_text
        AFTER UPDATE OF name, description, tags, option_words ON products BEGIN
        {_FTS_DELETE}
        INSERT INTO products_fts(rowid, name, description, tags) VALUES ({_FTS_ROW});
    END""",
    f"""CREATE TRIGGER products_after_delete AFTER DELETE ON products BEGIN
        {_FTS_DELETE}
    END""",
)

_ACTIVE = "FROM product_variants v WHERE v.product_id = products.id AND v.is_active = 1"
REFRESH_STOCK = (
    f"UPDATE products SET stock = (SELECT COALESCE(SUM(v.stock), 0) {_ACTIVE}) WHERE id = ?"
)
REFRESH = (
    f"UPDATE products SET stock = (SELECT COALESCE(SUM(v.stock), 0) {_ACTIVE}), "
    "price_cents = COALESCE((SELECT MIN(COALESCE(v.price_cents, products.base_price_cents)) "
    f"{_ACTIVE}), base_price_cents), "
    "image_url = json_extract(images, '$[0].url'), "
    "option_words = (SELECT COALESCE(group_concat(w.value, ' '), '') FROM (SELECT DISTINCT "
    "o.value FROM product_variants v, json_each(v.option_values) o "
    "WHERE v.product_id = products.id AND v.is_active = 1) w) "
    "WHERE id = ?"
)

# The variants of the product a row reads, as one JSON array in that row (the last column of
# product_sql.PRODUCT_COLUMNS): read by the statement that reads the product, so a product and
# its variants are of one snapshot, and a page is one statement instead of two. Each entry is
# [seq, id, sku, option_values, price_cents, stock, is_active, image_url]; json_group_array
# promises no order, so variants_from_json orders them by seq (the order they were added).
VARIANTS_JSON = (
    "(SELECT json_group_array(json_array(v.seq, v.id, v.sku, json(v.option_values), "
    "v.price_cents, v.stock, v.is_active, v.image_url)) "
    "FROM product_variants v WHERE v.product_id = p.id)"
)


# The C scanner behind ``json.loads``: one call for a stored JSON text, without the wrapper's
# checks and whitespace matching (a listing decodes several such texts per product). Its
# context is a JSONDecoder, as in json.decoder (typeshed types it as a scanner, a TODO there).
_scan = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def stored_json(text: str) -> Any:
    """``json.loads(text)`` of a JSON text the store wrote (tags, option values, a gallery):
    the same value, or the same error for anything that is not one JSON value alone."""
    try:
        value, end = _scan(text, 0)
    except StopIteration:  # leading whitespace, or not JSON: json.loads says which
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def variants_from_json(text: str) -> list[Variant]:
    """The variants of a row's ``VARIANTS_JSON`` column, in the order they were added."""
    entries = stored_json(text)
    if len(entries) > 1:
        entries.sort(key=itemgetter(0))
    return [
        Variant(
            id=entry[1],
            sku=entry[2],
            option_values=entry[3],
            price=None if entry[4] is None else Decimal(entry[4]).scaleb(-2),
            stock=entry[5],
            is_active=bool(entry[6]),
            image_url=entry[7],
        )
        for entry in entries
    ]


def encode_options(options: Iterable[ProductOption]) -> str:
    encoded = [{"name": o.name, "values": list(o.values)} for o in options]
    return json.dumps(encoded) if encoded else "[]"


def decode_options(text: str) -> list[ProductOption]:
    if text == "[]":  # most products: no json.loads on the read path
        return []
    return [ProductOption(name=o["name"], values=list(o["values"])) for o in stored_json(text)]


def encode_images(images: Iterable[ProductImage]) -> str:
    encoded = [{"url": i.url, "alt": i.alt} for i in images]
    return json.dumps(encoded) if encoded else "[]"


def decode_images(text: str) -> list[ProductImage]:
    if text == "[]":
        return []
    return [ProductImage(url=i["url"], alt=i.get("alt", "")) for i in stored_json(text)]


def _values(product_id: str, variant: Variant) -> tuple[Any, ...]:
    return (
        variant.id,
        product_id,
        variant.sku,
        json.dumps(variant.option_values) if variant.option_values else "{}",
        option_keys_text(variant.option_values),
        None if variant.price is None else to_cents(variant.price),
        variant.stock,
        int(variant.is_active),
        variant.image_url,
    )


_UPSERT = (
    "INSERT INTO product_variants (id, product_id, sku, option_values, option_keys, "
    "price_cents, stock, is_active, image_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET sku = excluded.sku, option_values = excluded.option_values, "
    "option_keys = excluded.option_keys, price_cents = excluded.price_cents, "
    "stock = excluded.stock, is_active = excluded.is_active, image_url = excluded.image_url"
)


async def upsert(conn: aiosqlite.Connection, product_id: str, variants: Sequence[Variant]) -> None:
    """Insert or overwrite these variants of the product (by id)."""
    await conn.executemany(_UPSERT, [_values(product_id, v) for v in variants])


async def change(
    conn: aiosqlite.Connection, product_id: str, variant_id: str, changes: VariantChanges
) -> None:
    """Apply a partial change to one variant (only known fields become columns)."""
    values: dict[str, Any] = {}
    given: dict[str, Any] = dict(changes)
    for key, value in given.items():
        if key == "option_values":
            values["option_values"] = json.dumps(value)
            values["option_keys"] = option_keys_text(value)
        elif key == "price":
            values["price_cents"] = None if value is None else to_cents(value)
        elif key == "is_active":
            values["is_active"] = int(value)
        elif key in ("sku", "stock", "image_url"):
            values[key] = value
    if not values:
        return
    assignments = ", ".join(f"{column} = ?" for column in values)
    await conn.execute(
        f"UPDATE product_variants SET {assignments} WHERE id = ? AND product_id = ?",
        [*values.values(), variant_id, product_id],
    )


_INSERT_HEAD = (
    "INSERT INTO product_variants (id, product_id, sku, option_values, option_keys, "
    "price_cents, stock, is_active, image_url)"
)
_INSERT_WIDTH = 9


async def insert_many(conn: aiosqlite.Connection, products: Sequence[Product]) -> None:
    """The variants of several new products in multi-row statements (a bulk import's new rows):
    their ids are fresh, so a plain insert (no upsert clause to plan and check per row)."""
    await multirow.insert_rows(
        conn,
        _INSERT_HEAD,
        _INSERT_WIDTH,
        [_values(product.id, v) for product in products for v in product.variants],
    )
