"""Reading and writing catalog files (no server involved)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from shopkit._catalog import slugify
from shopkit.types import Category, Product
from shopkit_cli import catalog, export
from shopkit_cli.catalog import CatalogError, parse_csv, parse_json
from shopkit_cli.seeding import _category_steps, changed_fields


def test_json_prices_stay_exact_and_rows_are_normalised() -> None:
    parsed = parse_json(
        json.dumps(
            {
                "products": [
                    {
                        "sku": " A-1 ",
                        "name": " Lamp ",
                        "price": 0.1,
                        "category": "Home",
                        "tags": ["Warm Light", "warm  light", ""],
                        "image_url": "",
                        "stock": 3,
                    },
                ]
            }
        )
    )
    [row] = parsed.rows
    assert row.error is None
    assert row.fields == {
        "sku": "A-1",
        "name": "Lamp",
        "price": Decimal("0.1"),
        "category": "Home",
        "tags": ["warm light"],
        "image_url": None,
        "stock": 3,
    }


def test_a_bare_list_and_nested_children_are_read() -> None:
    parsed = parse_json(json.dumps([{"sku": "X", "name": "X", "price": 1, "category": "A"}]))
    assert [r.sku for r in parsed.rows] == ["X"]
    tree = parse_json(
        json.dumps(
            {
                "categories": [{"name": "A", "children": [{"name": "B", "children": ["C"]}]}],
                "products": [],
            }
        )
    )
    assert [(c.name, c.parent) for c in tree.categories] == [("A", None), ("B", "A"), ("C", "B")]


@pytest.mark.parametrize(
    ("product", "reason"),
    [
        ({"name": "x", "price": 1, "category": "c"}, "sku is required"),
        ({"sku": "s", "price": 1, "category": "c"}, "name is required"),
        ({"sku": "s", "name": "x", "price": "cheap", "category": "c"}, "price must be a number"),
        ({"sku": "s", "name": "x", "price": 0, "category": "c"}, "above 0"),
        ({"sku": "s", "name": "x", "price": 1.005, "category": "c"}, "more than two decimals"),
        ({"sku": "s", "name": "x", "price": True, "category": "c"}, "price must be a number"),
        # The server's own rule (shopkit_server.money.parse_amount), so no row the API refuses
        # is sent: the top price, and more decimals than a float would keep.
        ({"sku": "s", "name": "x", "price": 10_000_000_000, "category": "c"}, "at most"),
        ({"sku": "s", "name": "x", "price": "19.999999999999999", "category": "c"}, "decimals"),
        ({"sku": "s", "name": "x", "price": 1, "category": "c", "stock": 1.5}, "whole number"),
        ({"sku": "s", "name": "x", "price": 1, "category": "c", "stock": -1}, ">= 0"),
        (
            {"sku": "s", "name": "x", "price": 1, "category": "c", "is_active": "yes"},
            "true or false",
        ),
        ({"sku": "s", "name": "x", "price": 1, "category": "c", "tags": "a,b"}, "list of text"),
        ({"sku": "s", "name": "x", "price": 1, "category": "a >  > b"}, "empty level"),
        ({"sku": "s", "name": "x", "price": 1, "category": "c", "rating": 5}, "unknown field"),
    ],
)
def test_json_row_problems_are_reported_per_row(product: dict[str, object], reason: str) -> None:
    [row] = parse_json(json.dumps({"products": [product]})).rows
    assert row.error is not None and reason in row.error


def test_csv_reads_paths_flags_and_leaves_empty_cells_out() -> None:
    parsed = parse_csv(
        "\ufeffsku,name,price,category,tags,stock,is_active,description\n"
        "K-1,Knife,35.00,Home > Kitchen,steel|Knife; sharp,12,no,\n"
        "\n"
        "K-2,Board,12.5,Home,,,,Oak\n"
    )
    first, second = parsed.rows
    assert first.fields == {
        "sku": "K-1",
        "name": "Knife",
        "price": Decimal("35.00"),
        "category": "Kitchen",
        "tags": ["steel", "knife", "sharp"],
        "stock": 12,
        "is_active": False,
    }
    assert first.path == ["Home", "Kitchen"]
    assert second.number == 4  # the blank line is skipped, line numbers stay true
    assert second.fields == {
        "sku": "K-2",
        "name": "Board",
        "price": Decimal("12.5"),
        "category": "Home",
        "description": "Oak",
    }


def test_csv_header_problems_stop_the_file() -> None:
    with pytest.raises(CatalogError, match="missing column"):
        parse_csv("sku,name,category\n")
    with pytest.raises(CatalogError, match="empty CSV"):
        parse_csv("")
    [row] = parse_csv("sku,name,price,category\nA,B,1,C,extra\n").rows
    assert row.error == "more cells than the header has columns"


def test_format_comes_from_the_name(tmp_path: Path) -> None:
    assert catalog.format_for(Path("a.CSV")) == "csv"
    assert catalog.format_for(Path("a.json")) == "json"
    with pytest.raises(CatalogError, match="--format"):
        catalog.format_for(Path("a.txt"))
    assert catalog.format_for(None, default="json") == "json"
    with pytest.raises(CatalogError, match="no such file"):
        catalog.read(tmp_path / "missing.json")


def _category(cid: str, name: str, parent: str | None = None) -> Category:
    return Category(id=cid, name=name, slug=slugify(name), parent_id=parent)


def test_category_steps_put_parents_first_and_skip_existing() -> None:
    parsed = parse_json(
        json.dumps(
            {
                "categories": [{"name": "Leaf", "parent": "Mid"}, {"name": "Mid", "parent": "Top"}],
                "products": [{"sku": "s", "name": "x", "price": 1, "category": "Garden > Tools"}],
            }
        )
    )
    existing = {"top": _category("1", "Top")}
    steps = _category_steps(parsed, existing)
    names = [s.name for s in steps]
    assert names.index("Mid") < names.index("Leaf")
    assert names.index("Garden") < names.index("Tools")
    assert "Top" not in names

    cyclic = parse_json(
        json.dumps(
            {
                "categories": [
                    {"name": "A", "parent": "B"},
                    {"name": "B", "parent": "A"},
                ]
            }
        )
    )
    with pytest.raises(CatalogError, match="cycle"):
        _category_steps(cyclic, {})


def _product(**overrides: object) -> Product:
    now = datetime.now(UTC)
    data: dict[str, object] = {
        "id": "p1",
        "sku": "S",
        "name": "Lamp",
        "description": "",
        "price": Decimal("10.00"),
        "category": "Home & Garden",
        "tags": ["light"],
        "image_url": None,
        "stock": 1,
        "is_active": True,
        "is_featured": False,
        "created_at": now,
        "updated_at": now,
    }
    data.update(overrides)
    return Product.model_validate(data)


def test_changed_fields_compares_what_the_row_gives() -> None:
    product = _product()
    same = {
        "sku": "S",
        "name": "Lamp",
        "price": Decimal("10"),
        "category": "home-garden",
        "tags": ["light"],
    }
    assert changed_fields(same, product) == []
    assert changed_fields({**same, "price": Decimal("10.01"), "stock": 2}, product) == [
        "price",
        "stock",
    ]


def test_export_writes_exact_prices_and_category_paths() -> None:
    categories = [_category("1", "Home"), _category("2", "Kitchen", "1")]
    products = [_product(category="Kitchen", price=Decimal("19.90"), description='say "hi"')]
    as_json = export.dump("json", categories, products)
    assert '"price": 19.90' in as_json
    data = json.loads(as_json, parse_float=Decimal)
    assert data["products"][0]["price"] == Decimal("19.90")
    assert data["products"][0]["description"] == 'say "hi"'
    assert data["categories"] == [  # the shape of examples/catalog.json
        {"name": "Home", "sort_order": 0, "children": [{"name": "Kitchen", "sort_order": 0}]},
    ]
    as_csv = export.dump("csv", categories, products)
    [row] = parse_csv(as_csv).rows
    assert row.path == ["Home", "Kitchen"] and row.fields["price"] == Decimal("19.90")
    assert row.fields["is_active"] is True and row.fields["tags"] == ["light"]
