"""A product's variants as SQLite reads them: one JSON column of the product's own row.

``json_group_array`` promises no order, so the variants must come back in the order they were
added whatever order the array holds; prices stay exact and option values a mapping.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from shopkit_server.products.models import Variant
from shopkit_server.store.sqlite.db import Database
from shopkit_server.store.sqlite.variants import VARIANTS_JSON, variants_from_json


def test_variants_come_back_in_the_order_they_were_added_whatever_the_array_order() -> None:
    entries = [
        [7, "v-7", "SKU-L", {"Size": "L"}, 2599, 0, 0, "https://img.example/l.jpg"],
        [3, "v-3", "SKU-S", {"Size": "S"}, None, 5, 1, None],
        [5, "v-5", None, {"Size": "M"}, 1, 12, 1, None],
    ]
    assert variants_from_json(json.dumps(entries)) == [
        Variant(id="v-3", sku="SKU-S", option_values={"Size": "S"}, price=None, stock=5,
                is_active=True, image_url=None),
        Variant(id="v-5", sku=None, option_values={"Size": "M"}, price=Decimal("0.01"),
                stock=12, is_active=True, image_url=None),
        Variant(id="v-7", sku="SKU-L", option_values={"Size": "L"}, price=Decimal("25.99"),
                stock=0, is_active=False, image_url="https://img.example/l.jpg"),
    ]
    assert variants_from_json("[]") == []


async def test_the_column_reads_every_variant_of_its_product_and_no_other(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "v.db", readers=1)
    try:
        await db.execute_script(
            [
                "CREATE TABLE products (id TEXT PRIMARY KEY)",
                "CREATE TABLE product_variants (seq INTEGER PRIMARY KEY, id TEXT, "
                "product_id TEXT, sku TEXT, option_values TEXT, price_cents INTEGER, "
                "stock INTEGER, is_active INTEGER, image_url TEXT)",
                "INSERT INTO products (id) VALUES ('a'), ('b'), ('c')",
                "INSERT INTO product_variants VALUES "
                "(1, 'a1', 'a', 'A-1', '{\"Colour\": \"Ünïcode \\\"q\\\"\"}', 1999, 2, 1, NULL),"
                "(2, 'b1', 'b', NULL, '{}', NULL, 0, 0, 'https://x/b.png'),"
                "(3, 'a2', 'a', 'A-2', '{\"Colour\": \"Red\"}', NULL, 1, 1, NULL)",
            ]
        )
        rows = await db.read_now(f"SELECT p.id, {VARIANTS_JSON} FROM products p ORDER BY p.id")
        got = {row[0]: variants_from_json(row[1]) for row in rows}
        assert [v.id for v in got["a"]] == ["a1", "a2"]
        assert got["a"][0].option_values == {"Colour": 'Ünïcode "q"'}
        assert got["a"][0].price == Decimal("19.99") and got["a"][1].price is None
        assert [(v.id, v.sku, v.is_active, v.image_url) for v in got["b"]] == [
            ("b1", None, False, "https://x/b.png")
        ]
        assert got["c"] == []  # a product with no variant row reads as none
    finally:
        await db.close()
