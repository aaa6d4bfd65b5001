"""The demo catalog: ``shopkit serve --demo`` fills an empty store with it.

It goes through :class:`~shopkit_server.products.service.ProductService` and the same row
validation as ``POST /products/bulk``, so the demo data obeys every rule the API enforces.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopkit_server import wire
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


async def load_demo_catalog(ctx: AppContext, path: Path | None = None) -> int:
    """Load the catalog into a store without products; how many products it created.

    Returns 0 (and changes nothing) when the store already has products. Categories that
    already exist are reused.
    """
    if await ctx.products.has_products():
        return 0
    source = path or default_catalog_path()
    try:
        # Exact prices, as any request body: numbers with a fraction are read as Decimal.
        data = wire.loads(source.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    except (OSError, ValueError) as exc:
        raise DemoCatalogError(f"cannot read the catalog {source}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("products"), list):
        raise DemoCatalogError(f"{source}: expected {{'categories': [...], 'products': [...]}}")
    for node in data.get("categories", []):
        await _create_category(ctx, node, parent_id=None)
    rows, failed = parse_bulk_rows(data["products"])
    if failed:
        first = failed[0]
        raise DemoCatalogError(f"{source}: product {first.index}: {first.detail}")
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


async def _create_category(ctx: AppContext, node: Any, parent_id: str | None) -> None:
    if not isinstance(node, dict) or not isinstance(node.get("name"), str):
        raise DemoCatalogError(f"a category needs a name: {node!r}")
    catalog = ctx.products.categories
    draft = CategoryDraft(
        name=node["name"].strip(), parent_id=parent_id, sort_order=int(node.get("sort_order", 0))
    )
    try:
        category = await catalog.create(draft)
    except CategoryExists:
        found = await catalog.find(draft.name)
        assert found is not None
        category = found
    for child in node.get("children", []):
        await _create_category(ctx, child, parent_id=category.id)
