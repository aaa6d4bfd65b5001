"""``shopkit products export``: the shop's catalog as a file ``shopkit seed`` reads back.

JSON has the shape of ``examples/catalog.json`` (categories nested under ``children`` with their
sort orders, prices as JSON numbers with their exact digits), so ``shopkit serve --demo
--demo-file`` reads it too. CSV writes each product's category as a path (``Home > Kitchen``)
so the tree survives a CSV round trip as well (sort orders do not).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shopkit_cli.catalog import COLUMNS, PATH_SEPARATOR, TAG_SEPARATOR

if TYPE_CHECKING:
    from shopkit.types import Category, Product


def dump(fmt: str, categories: Sequence[Category], products: Iterable[Product]) -> str:
    """The catalog as a seed file: JSON with the category tree, or CSV with category paths.

    Products come sorted by sku (then id), so two exports of the same catalog are the same
    text and a file kept under version control diffs cleanly.
    """
    products = sorted(products, key=lambda p: (p.sku is None, p.sku or "", p.id))
    if fmt == "csv":
        return _dump_csv(products, categories)
    return _dump_json(products, categories)


def _children(categories: Sequence[Category]) -> dict[str | None, list[Category]]:
    """Categories by parent id (None: the roots), in the server's order."""
    known = {c.id for c in categories}
    children: dict[str | None, list[Category]] = {}
    for category in categories:
        parent = category.parent_id if category.parent_id in known else None
        children.setdefault(parent, []).append(category)
    return children


def _tree(children: Mapping[str | None, list[Category]], parent: str | None) -> list[Any]:
    nodes = []
    for category in children.get(parent, []):
        node: dict[str, Any] = {"name": category.name, "sort_order": category.sort_order}
        below = _tree(children, category.id)
        if below:
            node["children"] = below
        nodes.append(node)
    return nodes


def _record(product: Product, category: str) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "price": format(product.price, "f"),
        "category": category,
        "tags": list(product.tags),
        "image_url": product.image_url,
        "stock": product.stock,
        "is_active": product.is_active,
        "is_featured": product.is_featured,
    }


def _dump_json(products: Iterable[Product], categories: Sequence[Category]) -> str:
    data = {
        "categories": _tree(_children(categories), None),
        "products": [_record(p, p.category) for p in products],
    }
    text = json.dumps(data, indent=2, ensure_ascii=False)
    # Prices as JSON numbers with their exact digits (json has no Decimal): each was written
    # above as a string of digits, and a quote inside any other string is escaped, so only
    # those values match.
    return re.sub(r'"price": "(\d+(?:\.\d+)?)"', r'"price": \1', text) + "\n"


def _dump_csv(products: Iterable[Product], categories: Sequence[Category]) -> str:
    by_id = {c.id: c for c in categories}
    by_name = {c.name: c for c in categories}
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for product in products:
        record = _record(product, _path(product.category, by_name, by_id))
        record["tags"] = TAG_SEPARATOR.join(record["tags"])
        record["image_url"] = record["image_url"] or ""
        record["sku"] = record["sku"] or ""
        for flag in ("is_active", "is_featured"):
            record[flag] = "true" if record[flag] else "false"
        writer.writerow(record)
    return out.getvalue()


def _path(name: str, by_name: Mapping[str, Category], by_id: Mapping[str, Category]) -> str:
    """``Home > Kitchen`` for Kitchen under Home (a loop in the data cannot hang it)."""
    parts = [name]
    current = by_name.get(name)
    seen: set[str] = set()
    while current is not None and current.parent_id is not None and current.id not in seen:
        seen.add(current.id)
        current = by_id.get(current.parent_id)
        if current is not None:
            parts.append(current.name)
    return PATH_SEPARATOR.join(reversed(parts))
