"""Catalog files as ``shopkit seed`` reads them: the one reader in :mod:`shopkit._catalog_file`
(``shopkit serve --demo`` reads through it too), with the server's money rule for prices."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from shopkit._catalog_file import (
    COLUMNS,
    OPTIONAL,
    PATH_SEPARATOR,
    REQUIRED,
    TAG_SEPARATOR,
    Catalog,
    CatalogError,
    CategorySpec,
    Row,
    format_for,
)
from shopkit._catalog_file import parse_csv as _parse_csv
from shopkit._catalog_file import parse_json as _parse_json
from shopkit._catalog_file import read as _read

__all__ = [
    "COLUMNS",
    "OPTIONAL",
    "PATH_SEPARATOR",
    "REQUIRED",
    "TAG_SEPARATOR",
    "Catalog",
    "CatalogError",
    "CategorySpec",
    "Row",
    "format_for",
    "parse_csv",
    "parse_json",
    "price",
    "read",
]


def price(value: Any) -> Decimal:
    """A catalog price by the server's own rule (one definition): exact, two decimals, > 0."""
    from shopkit_server.money import parse_amount  # no server extra needed: pydantic only

    return parse_amount(value, positive=True)


def read(path: Path, fmt: str | None = None) -> Catalog:
    """Parse a catalog file; row problems end up on the rows, file problems raise."""
    return _read(path, fmt, price=price)


def parse_json(text: str, source: str = "<json>") -> Catalog:
    return _parse_json(text, source, price=price)


def parse_csv(text: str, source: str = "<csv>") -> Catalog:
    return _parse_csv(text, source, price=price)
