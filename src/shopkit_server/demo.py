"""The demo catalog: ``shopkit serve --demo`` fills an empty store with it.

It goes through :class:`~shopkit_server.products.service.ProductService` and the same row
validation as ``POST /products/bulk``, so the demo data obeys every rule the API enforces.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopkit._catalog_file import Catalog, CatalogError, CategorySpec, read
from shopkit_server.money import parse_amount
from shopkit_server.products.errors import CategoryExists
from shopkit_server.products.models import CategoryDraft
from shopkit_server.products.schemas import MAX_BULK_ROWS, parse_bulk_rows

if TYPE_CHECKING:
    from shopkit_server.context import AppContext

# Installed wheels carry the catalog inside the package; a source checkout reads examples/.
_PACKAGED = Path(__file__).with_name("demo_catalog.json")
_CHECKOUT = Path(__file__).resolve().parents[2] / "examples" / "catalog.json"


class DemoCatalogError(ValueError):
    """The catalog file is missing or does not follow the API's rules."""


def default_catalog_path() -> Path:
    return _PACKAGED if _PACKAGED.exists() else _CHECKOUT


def price(value: Any) -> Decimal:
    """A catalog price: the money rule of every request (exact, two decimals, > 0)."""
    return parse_amount(value, positive=True)


def read_catalog(path: Path | None = None) -> Catalog:
    """The catalog file read by the one reader of the format (``shopkit seed`` reads the same
    way): its categories and product rows, a row's problem raised with its 0-based index."""
    source = path or default_catalog_path()
    try:
        catalog = read(source, "json", price=price)
    except CatalogError as exc:
        raise DemoCatalogError(f"cannot read the catalog: {exc}") from exc
    for position, row in enumerate(catalog.rows):
        if row.error is not None:
            raise DemoCatalogError(f"{source}: product {position}: {row.error}")
    return catalog


async def load_demo_catalog(ctx: AppContext, path: Path | None = None) -> int:
    """Load the catalog into a store without products; how many products it created.

    Returns 0 (and changes nothing) when the store already has products. Categories that
    already exist are reused.
    """
    if await ctx.products.has_products():
        return 0
    source = path or default_catalog_path()
    catalog = read_catalog(source)
    # The API's own validation of each product, as POST /products/bulk does it.
    rows, failed = parse_bulk_rows([row.fields for row in catalog.rows])
    if failed:
        first = failed[0]
        raise DemoCatalogError(f"{source}: product {first.index}: {first.detail}")
    await _create_categories(ctx, catalog)
    # One import stamps every product with the same instant, so "newest first" falls back to
    # insertion order: insert bottom-up and the default listing reads like the file.
    rows.reverse()
    created = 0
    for start in range(0, len(rows), MAX_BULK_ROWS):
        report = await ctx.products.import_products(rows[start : start + MAX_BULK_ROWS])
        if report.failed:
            first = report.failed[0]
            raise DemoCatalogError(f"{source}: product {first.index}: {first.detail}")
        created += report.created
    return created


async def _create_categories(ctx: AppContext, catalog: Catalog) -> None:
    """The file's categories, then every level of a product's category path, parents first."""
    wanted: dict[str, CategorySpec] = {}
    for spec in catalog.categories:
        wanted.setdefault(spec.name, spec)
    for row in catalog.rows:
        for depth, name in enumerate(row.path):
            wanted.setdefault(name, CategorySpec(name, row.path[depth - 1] if depth else None))
    ids: dict[str, str] = {}

    async def create(spec: CategorySpec, seen: tuple[str, ...]) -> str:
        if spec.name in ids:
            return ids[spec.name]
        if spec.name in seen:
            raise DemoCatalogError(f"the categories {', '.join(seen)} are each other's parents")
        parent_id = None
        if spec.parent is not None:
            parent = wanted.get(spec.parent, CategorySpec(spec.parent))
            parent_id = await create(parent, (*seen, spec.name))
        draft = CategoryDraft(name=spec.name, parent_id=parent_id, sort_order=spec.sort_order or 0)
        try:
            category = await ctx.products.categories.create(draft)
        except CategoryExists:
            found = await ctx.products.categories.find(draft.name)
            assert found is not None
            category = found
        ids[spec.name] = category.id
        return category.id

    for spec in wanted.values():
        await create(spec, ())
