"""Catalog files: the one reader of the format, for ``shopkit seed`` and ``shopkit serve --demo``.

``shopkit_cli/export.py`` writes the same formats. No server import and no I/O beyond reading
the file: the price rule (``shopkit_server.money.parse_amount``) is passed in by the caller
(``price``), so the SDK-only install reads catalogs with the rule the CLI gives it.

JSON (the format of ``examples/catalog.json``)::

    {"categories": [{"name": "Electronics", "parent": null, "sort_order": 1},
                    {"name": "Audio", "parent": "Electronics"}],
     "products": [{"sku": "AUD-001", "name": "Headphones", "price": 99.99,
                   "category": "Audio", "tags": ["audio"], "stock": 50, ...}]}

A bare list of products is read too; a product with sizes or colours nests its ``options``
(``[{"name": "Size", "values": ["S", "M"]}]``), ``variants`` (each with ``option_values``, its
own ``sku`` and ``stock``, optionally ``price`` and ``image_url``) and ``images``
(``[{"url": ..., "alt": ...}]``), as the API takes them.

CSV has one product per line with the columns ``sku``, ``name``, ``price``, ``category``
(required) and ``description``, ``tags``, ``image_url``, ``stock``, ``is_active``,
``is_featured``; tags are separated by ``|`` (``;`` is read too), booleans are ``true``/``false``
(or yes/no, 1/0), and an empty cell leaves the field alone. A product with variants takes one
line per variant sharing a ``product_sku`` (the product's sku, as Shopify's CSV shares a
handle): the line's ``sku`` and ``stock`` are the variant's, ``option1_name``/``option1_value``
(up to ``option3_*``) its option values, ``variant_price``/``variant_image_url`` its own price
and image; the product's fields come from the first line of the group (later lines may leave
them empty). Seeding stays idempotent by variant sku.

In both formats a product's ``category`` may be a path, ``Electronics > Audio``: every level is
created if missing, each under the one before. That is how CSV, which has no category list,
carries the tree; exports write paths to CSV so a CSV round trip keeps it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from shopkit._catalog import MAX_CSV_OPTIONS, PRODUCT_SKU_COLUMN

PATH_SEPARATOR = " > "
TAG_SEPARATOR = "|"
_TAG_SPLIT = re.compile(r"[|;]")
REQUIRED = ("sku", "name", "price", "category")
OPTIONAL = (
    "description",
    "tags",
    "image_url",
    "stock",
    "is_active",
    "is_featured",
    "options",
    "variants",
    "images",
)
_VARIANT_COLUMNS = (
    PRODUCT_SKU_COLUMN,
    "variant_price",
    "variant_image_url",
    *(f"option{n}_{part}" for n in range(1, MAX_CSV_OPTIONS + 1) for part in ("name", "value")),
)
COLUMNS = (
    *REQUIRED[:2],
    "description",
    "price",
    "category",
    "tags",
    "image_url",
    "stock",
    "is_active",
    "is_featured",
)
# Fields an API dump carries that a seed file does not set; read and ignored.
_IGNORED = frozenset({"id", "created_at", "updated_at"})
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})
_WHOLE_NUMBER = re.compile(r"[+-]?\d+")
_TOO_MANY = "more cells than the header has columns"


# Turns a price as the file gives it into an exact amount, or raises ValueError with a message
# that reads after the field's name ("must be above 0").
PriceRule = Callable[[Any], Decimal]


class CatalogError(Exception):
    """The file as a whole cannot be read (the message names the file and why)."""


@dataclass
class CategorySpec:
    """A category the file wants to exist, with its parent's name (None: a root)."""

    name: str
    parent: str | None = None
    sort_order: int | None = None


@dataclass
class Row:
    """One product of the file: its position, and the fields it gives (already checked).

    ``error`` is set when the row cannot be sent; ``path`` is its category path (the last
    level is ``fields["category"]``).
    """

    number: int  # 1-based: the product's position in JSON, the line in CSV
    sku: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Catalog:
    categories: list[CategorySpec]
    rows: list[Row]


def format_for(path: Path | None, default: str | None = None) -> str:
    suffix = path.suffix.lower() if path else ""
    if suffix in (".json", ".csv"):
        return suffix[1:]
    if default is not None:
        return default
    raise CatalogError(f"{path}: cannot tell the format from the name; use --format json|csv")


def read(path: Path, fmt: str | None = None, *, price: PriceRule) -> Catalog:
    """Parse a catalog file; row problems end up on the rows, file problems raise."""
    fmt = fmt or format_for(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: Excel's CSVs start with a BOM
    except FileNotFoundError:
        raise CatalogError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot read it ({exc})") from None
    if fmt == "csv":
        return parse_csv(text, str(path), price=price)
    return parse_json(text, str(path), price=price)


# -- JSON ---------------------------------------------------------------------------------


def parse_json(text: str, source: str = "<json>", *, price: PriceRule) -> Catalog:
    try:
        # parse_float=Decimal: exact prices, never through a float.
        data = json.loads(text.removeprefix("\ufeff"), parse_float=Decimal)
    except ValueError as exc:
        raise CatalogError(f"{source}: not valid JSON ({exc})") from None
    if isinstance(data, list):
        data = {"products": data}
    if not isinstance(data, dict) or not isinstance(data.get("products", []), list):
        raise CatalogError(f"{source}: expected an object with a 'products' list, or a list")
    categories = _json_categories(data.get("categories", []), source)
    products = enumerate(data.get("products", []), start=1)
    rows = [_json_row(i, item, price) for i, item in products]
    return Catalog(categories=categories, rows=rows)


def _json_categories(raw: Any, source: str) -> list[CategorySpec]:
    if not isinstance(raw, list):
        raise CatalogError(f"{source}: 'categories' must be a list")
    specs: list[CategorySpec] = []

    def add(item: Any, parent: str | None) -> None:
        if isinstance(item, str) and item.strip():
            specs.append(CategorySpec(name=item.strip(), parent=parent))
            return
        if not isinstance(item, Mapping) or not _text(item.get("name")):
            raise CatalogError(f"{source}: every category needs a name, got {item!r}")
        name = str(item["name"]).strip()
        given_parent = item.get("parent", item.get("parent_name"))
        order = item.get("sort_order")
        if order is not None and (isinstance(order, bool) or not isinstance(order, int)):
            raise CatalogError(f"{source}: sort_order of category {name!r} must be an integer")
        specs.append(
            CategorySpec(
                name=name,
                parent=str(given_parent).strip() if _text(given_parent) else parent,
                sort_order=order,
            )
        )
        children = item.get("children", [])
        if not isinstance(children, list):
            raise CatalogError(f"{source}: children of category {name!r} must be a list")
        for child in children:
            add(child, name)

    for item in raw:
        add(item, None)
    return specs


def _json_row(number: int, item: Any, price: PriceRule) -> Row:
    if not isinstance(item, Mapping):
        return Row(number=number, sku=None, error="a product must be an object")
    unknown = sorted(set(item) - set(REQUIRED) - set(OPTIONAL) - _IGNORED)
    sku = _sku(item.get("sku"))
    if unknown:
        return Row(number=number, sku=sku, error=f"unknown field(s): {', '.join(unknown)}")
    return _checked(number, {k: v for k, v in item.items() if k not in _IGNORED}, price)


# -- CSV ----------------------------------------------------------------------------------


def parse_csv(text: str, source: str = "<csv>", *, price: PriceRule) -> Catalog:
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    if not header:
        raise CatalogError(f"{source}: empty CSV (expected a header line)")
    reader.fieldnames = header
    missing = [name for name in REQUIRED if name not in header]
    known = (*REQUIRED, *OPTIONAL[:6], *_VARIANT_COLUMNS)
    unknown = [name for name in header if name not in known and name not in _IGNORED]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        raise CatalogError(f"{source}: {'; '.join(problems)}")
    rows: list[Row] = []
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    width = len(header)
    # DictReader's own loop without its per-line Python: the csv module reads a line (blank
    # ones skipped), which is zipped onto the header.
    cells_of = reader.reader
    line = reader.line_num  # the header's, then the last row's: where an error is reported
    blank_from: int | None = None  # after blank lines, DictReader reports the first of them
    try:
        for cells in cells_of:
            if not cells:
                blank_from = cells_of.line_num if blank_from is None else blank_from
                continue
            line, blank_from = cells_of.line_num, None
            record = dict(zip(header, cells, strict=False))  # a short line: the rest absent
            if len(cells) > width:  # more cells than columns
                rows.append(Row(number=line, sku=_sku(record.get("sku")), error=_TOO_MANY))
                continue
            given: dict[str, Any] = {
                key: text
                for key, value in record.items()
                if key not in _IGNORED and (text := value.strip())
            }
            if not given:
                continue  # a blank line
            if "tags" in given:
                given["tags"] = [t.strip() for t in _TAG_SPLIT.split(given["tags"]) if t.strip()]
            if PRODUCT_SKU_COLUMN in given:
                if not groups.get(given[PRODUCT_SKU_COLUMN]):
                    rows.append(Row(number=line, sku=given[PRODUCT_SKU_COLUMN]))
                groups.setdefault(given[PRODUCT_SKU_COLUMN], []).append((line, given))
                continue
            rows.append(_checked(line, given, price, from_text=True))
    except csv.Error as exc:
        at = line if blank_from is None else blank_from
        raise CatalogError(f"{source}, line {at}: {exc}") from None
    # Each group's placeholder row (at its first line) becomes the product with its variants.
    merged = {sku: _grouped(lines, price) for sku, lines in groups.items()}
    rows = [
        merged[row.sku]
        if row.sku in merged
        and not row.fields
        and row.error is None
        and row.number == groups[row.sku][0][0]
        else row
        for row in rows
    ]
    return Catalog(categories=[], rows=rows)


def _grouped(lines: list[tuple[int, dict[str, str]]], price: PriceRule) -> Row:
    """The product of a CSV group of variant lines (its fields from the first line)."""
    number, first = lines[0]
    product: dict[str, Any] = {
        key: value
        for key, value in first.items()
        if key not in _VARIANT_COLUMNS and key not in ("sku", "stock")
    }
    product["sku"] = first[PRODUCT_SKU_COLUMN]
    options: dict[str, list[str]] = {}
    variants: list[dict[str, Any]] = []
    for line_number, line in lines:
        values: dict[str, str] = {}
        for n in range(1, MAX_CSV_OPTIONS + 1):
            name, value = line.get(f"option{n}_name"), line.get(f"option{n}_value")
            if name is None and value is None:
                continue
            if not name or not value:
                return Row(
                    number=line_number,
                    sku=product["sku"],
                    error=f"option{n}_name and option{n}_value go together",
                )
            values[name] = value
            if value not in options.setdefault(name, []):
                options[name].append(value)
        variant: dict[str, Any] = {"option_values": values}
        for column, key in (
            ("sku", "sku"),
            ("stock", "stock"),
            ("variant_price", "price"),
            ("variant_image_url", "image_url"),
        ):
            if column in line:
                variant[key] = line[column]
        variants.append(variant)
    if options:
        product["options"] = [{"name": n, "values": v} for n, v in options.items()]
        product["variants"] = variants
    elif "stock" in first:  # one line without options: a plain product after all
        product["stock"] = first["stock"]
    return _checked(number, product, price, from_text=True)


# -- checking one product -----------------------------------------------------------------


def _checked(
    number: int, given: Mapping[str, Any], price: PriceRule, *, from_text: bool = False
) -> Row:
    """A row with its fields normalised, or the first problem found."""
    sku = _sku(given.get("sku"))
    row = Row(number=number, sku=sku)
    if sku is None:
        row.error = "sku is required: seeding matches products by sku"
        return row
    try:
        fields: dict[str, Any] = {"sku": sku}
        for key in ("name", "price", "category"):
            if given.get(key) is None or given.get(key) == "":
                raise ValueError(f"{key} is required")
        fields["name"] = _string(given["name"], "name", required=True)
        fields["price"] = _price(given["price"], price)
        row.path = _category_path(given["category"])
        fields["category"] = row.path[-1]
        if "description" in given:
            fields["description"] = _string(given["description"], "description")
        if "tags" in given:
            fields["tags"] = _tags(given["tags"])
        if "image_url" in given:
            image = given["image_url"]
            fields["image_url"] = None if image is None else (_string(image, "image_url") or None)
        if "stock" in given:
            fields["stock"] = _stock(given["stock"], from_text)
        for flag in ("is_active", "is_featured"):
            if flag in given:
                fields[flag] = _bool(given[flag], flag, from_text)
        if "options" in given:
            fields["options"] = _options(given["options"])
        if "variants" in given:
            fields["variants"] = [_variant(v, price, from_text) for v in _list(given, "variants")]
        if "images" in given:
            fields["images"] = [_image(i) for i in _list(given, "images")]
    except ValueError as exc:
        row.error = str(exc)
        return row
    row.fields = fields
    return row


def _list(given: Mapping[str, Any], name: str) -> list[Any]:
    value = given[name]
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a list, got {value!r}")
    return value


def _options(value: Any) -> list[dict[str, Any]]:
    """Options as the API takes them; the server checks the rest (limits, uniqueness)."""
    if not isinstance(value, list):
        raise ValueError(f"options must be a list, got {value!r}")
    options = []
    for option in value:
        if not isinstance(option, Mapping) or not _text(option.get("name")):
            raise ValueError(f"an option needs a name and values, got {option!r}")
        values = option.get("values")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ValueError(f"values of option {option['name']!r} must be a list of text")
        options.append({"name": option["name"].strip(), "values": [v.strip() for v in values]})
    return options


def _variant(value: Any, price: PriceRule, from_text: bool) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"a variant must be an object, got {value!r}")
    unknown = sorted(
        set(value) - {"sku", "option_values", "price", "stock", "is_active", "image_url", "id"}
    )
    if unknown:
        raise ValueError(f"unknown variant field(s): {', '.join(unknown)}")
    values = value.get("option_values", {})
    if not isinstance(values, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in values.items()
    ):
        raise ValueError(f"option_values must map option names to values, got {values!r}")
    variant: dict[str, Any] = {
        "option_values": {k.strip(): v.strip() for k, v in values.items()},
        "sku": _sku(value.get("sku")),
    }
    if variant["sku"] is None:
        raise ValueError("every variant needs a sku: seeding matches variants by sku")
    if value.get("price") is not None:
        variant["price"] = _price(value["price"], price)
    if "stock" in value:
        variant["stock"] = _stock(value["stock"], from_text)
    if "is_active" in value:
        variant["is_active"] = _bool(value["is_active"], "is_active", from_text)
    if value.get("image_url"):
        variant["image_url"] = _string(value["image_url"], "image_url")
    return variant


def _image(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        return {"url": value.strip(), "alt": ""}
    if not isinstance(value, Mapping) or not _text(value.get("url")):
        raise ValueError(f"an image needs a url, got {value!r}")
    return {"url": value["url"].strip(), "alt": str(value.get("alt") or "").strip()}


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _sku(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value.strip() if _text(value) else None


def _string(value: Any, name: str, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, got {value!r}")
    text = value.strip()
    if required and not text:
        raise ValueError(f"{name} must not be empty")
    return text


def _price(value: Any, rule: PriceRule) -> Decimal:
    try:
        return rule(value)
    except ValueError as exc:
        raise ValueError(f"price {exc}, got {value!r}") from None


def _stock(value: Any, from_text: bool) -> int:
    if from_text and isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"stock must be a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"stock must be >= 0, got {value}")
    return value


def _bool(value: Any, name: str, from_text: bool) -> bool:
    if isinstance(value, bool):
        return value
    if from_text and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


def _tags(value: Any) -> list[str]:
    """Tags as the server keeps them (lower-cased, spaces collapsed, no repeats), so that
    comparing a row with the stored product is exact."""
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ValueError(f"tags must be a list of text, got {value!r}")
    clean = [" ".join(t.split()).casefold() for t in value]
    return list(dict.fromkeys(filter(None, clean)))


def _category_path(value: Any) -> list[str]:
    if not isinstance(value, str):
        raise ValueError(f"category must be text, got {value!r}")
    parts = [part.strip() for part in value.split(PATH_SEPARATOR.strip())]
    if not all(parts):
        raise ValueError(f"category {value!r} has an empty level")
    return parts
