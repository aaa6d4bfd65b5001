"""PostgreSQL storage of product variants, and the product aggregates they drive.

As on SQLite (``store/sqlite/variants.py``): a variant row per buyable version; the product
row keeps ``price`` (lowest active variant price), ``stock`` (sum over active variants),
``image_url`` (first image) and ``option_words`` (searched like tags) as derived columns,
rewritten by :data:`REFRESH` in the same transaction as every variant write and by
:data:`REFRESH_STOCK` after every stock change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from shopkit_server.products.models import (
    ProductImage,
    ProductOption,
    Variant,
    VariantChanges,
    option_keys,
)
from shopkit_server.store.postgres.db import Connection, Database, Record

# Migration 3: variants, options and the image gallery. Every existing product gets its
# default variant (its sku and stock, a new 24-hex id, the product's price); its image_url
# becomes the first image of its gallery; the search vector also reads option values.
MIGRATION: tuple[str, ...] = (
    "ALTER TABLE products ADD COLUMN base_price numeric(12, 2), "
    "ADD COLUMN options jsonb NOT NULL DEFAULT '[]', "
    "ADD COLUMN images jsonb NOT NULL DEFAULT '[]', "
    "ADD COLUMN option_words text NOT NULL DEFAULT ''",
    "UPDATE products SET base_price = price, images = CASE WHEN image_url IS NULL "
    "THEN '[]'::jsonb ELSE jsonb_build_array(jsonb_build_object('url', image_url, 'alt', '')) "
    "END",
    """CREATE TABLE product_variants (
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        id text COLLATE "C" PRIMARY KEY,
        product_id text COLLATE "C" NOT NULL REFERENCES products (id) ON DELETE CASCADE,
        sku text UNIQUE,
        option_values jsonb NOT NULL DEFAULT '{}',
        option_keys text[] NOT NULL DEFAULT '{}',
        price numeric(12, 2) CHECK (price > 0),
        stock integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
        is_active boolean NOT NULL DEFAULT true,
        image_url text,
        CONSTRAINT product_variants_combination UNIQUE (product_id, option_keys)
    )""",
    "INSERT INTO product_variants (id, product_id, sku, stock) "
    "SELECT substr(md5(random()::text || id), 1, 24), id, sku, stock FROM products ORDER BY seq",
    "DROP INDEX products_search",
    "ALTER TABLE products DROP COLUMN search",
    "ALTER TABLE products ADD COLUMN search tsvector NOT NULL GENERATED ALWAYS AS "
    "(shopkit_search_vector(name, description, tags || string_to_array(option_words, ' '))) "
    "STORED",
    "CREATE INDEX products_search ON products USING gin (search)",
)

_ACTIVE = "FROM product_variants v WHERE v.product_id = p.id AND v.is_active"
REFRESH_STOCK = (
    f"UPDATE products p SET stock = (SELECT COALESCE(sum(v.stock), 0) {_ACTIVE}) "
    "WHERE p.id = ANY($1::text[])"
)
REFRESH = (
    f"UPDATE products p SET stock = (SELECT COALESCE(sum(v.stock), 0) {_ACTIVE}), "
    f"price = COALESCE((SELECT min(COALESCE(v.price, p.base_price)) {_ACTIVE}), p.base_price), "
    "image_url = p.images -> 0 ->> 'url', "
    "option_words = COALESCE((SELECT string_agg(DISTINCT o.value, ' ') FROM product_variants v, "
    "jsonb_each_text(v.option_values) o WHERE v.product_id = p.id AND v.is_active), '') "
    "WHERE p.id = $1"
)

VARIANT_COLUMNS = (
    "v.product_id, v.id, v.sku, v.option_values, v.price, v.stock, v.is_active, v.image_url"
)


def variant_from_row(row: Record) -> Variant:
    return Variant(
        id=row[1],
        sku=row[2],
        option_values=dict(row[3]),
        price=row[4],
        stock=row[5],
        is_active=row[6],
        image_url=row[7],
    )


def encode_options(options: Iterable[ProductOption]) -> list[dict[str, Any]]:
    return [{"name": o.name, "values": list(o.values)} for o in options]


def decode_options(value: Any) -> list[ProductOption]:
    return [ProductOption(name=o["name"], values=list(o["values"])) for o in value or []]


def encode_images(images: Iterable[ProductImage]) -> list[dict[str, Any]]:
    return [{"url": i.url, "alt": i.alt} for i in images]


def decode_images(value: Any) -> list[ProductImage]:
    return [ProductImage(url=i["url"], alt=i.get("alt", "")) for i in value or []]


async def load(
    source: Database | Connection, product_ids: Sequence[str]
) -> dict[str, list[Variant]]:
    """The variants of these products, in the order they were added (one query)."""
    found: dict[str, list[Variant]] = defaultdict(list)
    if not product_ids:
        return found
    rows = await source.fetch(
        f"SELECT {VARIANT_COLUMNS} FROM product_variants v "
        "WHERE v.product_id = ANY($1::text[]) ORDER BY v.seq",
        list(dict.fromkeys(product_ids)),
    )
    for row in rows:
        found[row[0]].append(variant_from_row(row))
    return found


_UPSERT = (
    "INSERT INTO product_variants (id, product_id, sku, option_values, option_keys, price, "
    "stock, is_active, image_url) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
    "ON CONFLICT (id) DO UPDATE SET sku = excluded.sku, option_values = excluded.option_values, "
    "option_keys = excluded.option_keys, price = excluded.price, stock = excluded.stock, "
    "is_active = excluded.is_active, image_url = excluded.image_url"
)


async def upsert(conn: Connection, product_id: str, variants: Sequence[Variant]) -> None:
    """Insert or overwrite these variants of the product (by id)."""
    await conn.executemany(
        _UPSERT,
        [
            (
                v.id,
                product_id,
                v.sku,
                dict(v.option_values),
                option_keys(v.option_values),
                v.price,
                v.stock,
                v.is_active,
                v.image_url,
            )
            for v in variants
        ],
    )


async def change(
    conn: Connection, product_id: str, variant_id: str, changes: VariantChanges
) -> None:
    """Apply a partial change to one variant (only known fields become columns)."""
    values: dict[str, Any] = {}
    given: dict[str, Any] = dict(changes)
    for key, value in given.items():
        if key == "option_values":
            values["option_values"] = dict(value)
            values["option_keys"] = option_keys(value)
        elif key in ("sku", "stock", "image_url", "price", "is_active"):
            values[key] = value
    if not values:
        return
    assignments = ", ".join(f"{column} = ${n}" for n, column in enumerate(values, 3))
    await conn.execute(
        f"UPDATE product_variants SET {assignments} WHERE id = $1 AND product_id = $2",
        variant_id,
        product_id,
        *values.values(),
    )
