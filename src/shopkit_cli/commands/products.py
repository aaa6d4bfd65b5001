"""``shopkit products``: list, get, create, update, delete and export the catalog."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shopkit_cli.output import (
    EXIT_USAGE,
    Column,
    confirm,
    emit_list,
    emit_object,
    emit_table,
    fail,
    info,
    progress,
    require_yes_or_terminal,
    success,
    warn,
)
from shopkit_cli.params import (
    AllPagesOption,
    JsonOption,
    PageOption,
    PageSizeOption,
    YesOption,
    examples,
    money,
    tag_list,
)
from shopkit_cli.session import async_command, open_client, want_json

if TYPE_CHECKING:
    from shopkit import AsyncPage

app = typer.Typer(help="Browse and edit the catalog.", no_args_is_help=True)


class Sort(StrEnum):
    newest = "newest"
    price_asc = "price_asc"
    price_desc = "price_desc"
    name = "name"


class ExportFormat(StrEnum):
    json = "json"
    csv = "csv"


LIST_COLUMNS = [
    Column("id", "id", max_width=24),
    Column("sku", "sku"),
    Column("name", "name", max_width=40),
    Column("price", "price", justify="right"),
    Column("stock", "stock", justify="right"),
    Column("category", "category"),
    Column("is_active", "active"),
    Column("is_featured", "featured"),
]
FIELDS = [
    Column("id", "id"),
    Column("sku", "sku"),
    Column("name", "name"),
    Column("description", "description"),
    Column("price", "price"),
    Column("category", "category"),
    Column("tags", "tags"),
    Column("stock", "stock"),
    Column("image_url", "image"),
    Column("is_active", "active"),
    Column("is_featured", "featured"),
    Column("created_at", "created"),
    Column("updated_at", "updated"),
]
VARIANT_COLUMNS = [
    Column("id", "variant id"),
    Column("sku", "sku"),
    Column("options", "options"),
    Column("price", "price"),
    Column("stock", "stock"),
    Column("is_active", "active"),
]

IdArg = Annotated[str, typer.Argument(help="The product's id.", show_default=False)]
NameOpt = Annotated[str | None, typer.Option(help="Product name.")]
DescriptionOpt = Annotated[str | None, typer.Option(help="Long description.")]
PriceOpt = Annotated[str | None, typer.Option(help="Price, e.g. 19.99 (at most two decimals).")]
CategoryOpt = Annotated[str | None, typer.Option(help="Category name (must exist).")]
SkuOpt = Annotated[str | None, typer.Option(help="Stock-keeping unit (unique).")]
TagsOpt = Annotated[
    str | None, typer.Option(help='Comma-separated tags, e.g. "audio,wireless" ("" clears).')
]
ImageOpt = Annotated[str | None, typer.Option(help='Image URL ("" removes it).')]
StockOpt = Annotated[int | None, typer.Option(min=0, help="Units in stock.")]


@app.command(
    "list",
    epilog=examples(
        "shopkit products list --category Audio --sort price_asc",
        "shopkit products list -q headphones --in-stock",
        "shopkit products list --all-pages | cut -f2    # every sku",
    ),
)
@async_command
async def list_products(
    category: Annotated[
        str | None, typer.Option("--category", "-c", help="Category (and its sub-categories).")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-q", help="Full-text search, best match first.")
    ] = None,
    min_price: Annotated[str | None, typer.Option(help="Lowest price.")] = None,
    max_price: Annotated[str | None, typer.Option(help="Highest price.")] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Must carry this tag (repeatable).")
    ] = None,
    in_stock: Annotated[
        bool | None, typer.Option("--in-stock/--out-of-stock", help="Only with / without stock.")
    ] = None,
    featured: Annotated[bool, typer.Option("--featured", help="Only featured products.")] = False,
    sort: Annotated[Sort | None, typer.Option(help="Order (default: newest first).")] = None,
    include_inactive: Annotated[
        bool, typer.Option("--include-inactive", help="Deleted (inactive) products too.")
    ] = False,
    page: PageOption = 1,
    page_size: PageSizeOption = 20,
    all_pages: AllPagesOption = False,
    as_json: JsonOption = False,
) -> None:
    """List products (active ones unless --include-inactive)."""
    filters: dict[str, Any] = {
        "category": category,
        "min_price": money(min_price, "--min-price") if min_price is not None else None,
        "max_price": money(max_price, "--max-price") if max_price is not None else None,
        "tags": tag or None,
        "in_stock": in_stock,
        "featured": featured or None,
        "sort": sort.value if sort else None,
    }
    if search is not None and include_inactive:
        fail("--search shows active products only; drop --include-inactive", EXIT_USAGE)
    if search is None:
        filters["include_inactive"] = include_inactive or None
    async with open_client(login_required=include_inactive) as client:
        if all_pages:
            from shopkit_cli.paging import PAGE_SIZE, fetch_all

            if search is not None:
                items = await fetch_all(
                    lambda n: client.products.search(
                        search, **filters, page=n, page_size=PAGE_SIZE
                    ),
                    "products",
                )
            else:
                items = await fetch_all(
                    lambda n: client.products.list(**filters, page=n, page_size=PAGE_SIZE),
                    "products",
                )
            emit_list(items, LIST_COLUMNS, as_json=want_json(as_json), empty="no products")
            return
        if search is not None:
            result = await client.products.search(search, **filters, page=page, page_size=page_size)
        else:
            result = await client.products.list(**filters, page=page, page_size=page_size)
    emit_list(result.items, LIST_COLUMNS, as_json=want_json(as_json), empty="no products")
    _page_note(result, "products")


def _page_note(result: AsyncPage[Any], noun: str) -> None:
    if result.has_next:
        total = f"{result.total}" if result.total_exact else f"more than {result.total:,}"
        info(
            f"page {result.page}, {len(result.items)} of {total} {noun}; "
            f"--page {(result.page or 1) + 1} for more, or --all-pages"
        )


@app.command(
    "get",
    epilog=examples(
        "shopkit products get PRODUCT_ID",
        "shopkit products get PRODUCT_ID --include-inactive --json",
    ),
)
@async_command
async def get_product(
    product_id: IdArg,
    include_inactive: Annotated[
        bool, typer.Option("--include-inactive", help="Show it even if deleted (admins).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show one product."""
    async with open_client(login_required=include_inactive) as client:
        product = await client.products.get(product_id, include_inactive=include_inactive or None)
    emit_object(product, FIELDS, as_json=want_json(as_json))
    if not want_json(as_json) and (product.options or len(product.variants) > 1):
        rows = [
            {
                **variant.model_dump(mode="json"),
                "options": " / ".join(variant.option_values.values()),
                "price": variant.price if variant.price is not None else product.base_price,
            }
            for variant in product.variants
        ]
        emit_table(rows, VARIANT_COLUMNS, "Variants")


@app.command(
    "create",
    epilog=examples(
        "shopkit products create --name Cable --price 9.99 --category Audio",
    ),
)
@async_command
async def create_product(
    name: Annotated[str, typer.Option(help="Product name.")],
    price: Annotated[str, typer.Option(help="Price, e.g. 19.99 (at most two decimals).")],
    category: Annotated[str, typer.Option(help="Category name (must exist).")],
    sku: SkuOpt = None,
    description: DescriptionOpt = None,
    tags: TagsOpt = None,
    image_url: ImageOpt = None,
    stock: StockOpt = None,
    featured: Annotated[bool, typer.Option("--featured", help="Feature it.")] = False,
    inactive: Annotated[
        bool, typer.Option("--inactive", help="Create it hidden (is_active=false).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a product (admins)."""
    fields: dict[str, Any] = {
        "name": name,
        "price": money(price, "--price", positive=True),
        "category": category,
        "sku": sku,
        "description": description,
        "tags": tag_list(tags) if tags is not None else None,
        "image_url": image_url or None,
        "stock": stock,
        "is_featured": True if featured else None,
        "is_active": False if inactive else None,
    }
    async with open_client() as client:
        product = await client.products.create(**{k: v for k, v in fields.items() if v is not None})
    success(f"created product {product.id} ({product.name})")
    emit_object(product, FIELDS, as_json=want_json(as_json))


@app.command(
    "update",
    epilog=examples(
        "shopkit products update PRODUCT_ID --price 17.50 --stock 12",
        "shopkit products update PRODUCT_ID --active   # revive a deleted one",
    ),
)
@async_command
async def update_product(
    product_id: IdArg,
    name: NameOpt = None,
    price: PriceOpt = None,
    category: CategoryOpt = None,
    sku: SkuOpt = None,
    description: DescriptionOpt = None,
    tags: TagsOpt = None,
    image_url: ImageOpt = None,
    stock: StockOpt = None,
    featured: Annotated[
        bool | None, typer.Option("--featured/--not-featured", help="Feature it, or stop.")
    ] = None,
    active: Annotated[
        bool | None,
        typer.Option("--active/--inactive", help="Revive a deleted product, or hide one."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change the given fields of a product (admins)."""
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if price is not None:
        changes["price"] = money(price, "--price", positive=True)
    if category is not None:
        changes["category"] = category
    if sku is not None:
        changes["sku"] = sku or None
    if description is not None:
        changes["description"] = description
    if tags is not None:
        changes["tags"] = tag_list(tags)
    if image_url is not None:
        changes["image_url"] = image_url or None
    if stock is not None:
        changes["stock"] = stock
    if featured is not None:
        changes["is_featured"] = featured
    if active is not None:
        changes["is_active"] = active
    if not changes:
        fail("nothing to update: give at least one option (see --help)", EXIT_USAGE)
    async with open_client() as client:
        product = await client.products.update(product_id, **changes)
    success(f"updated product {product.id}: {', '.join(sorted(changes))}")
    emit_object(product, FIELDS, as_json=want_json(as_json))


@app.command(
    "delete",
    epilog=examples(
        "shopkit products delete PRODUCT_ID",
        "shopkit products delete PRODUCT_ID --yes   # in a script",
    ),
)
@async_command
async def delete_product(product_id: IdArg, yes: YesOption = False) -> None:
    """Delete a product (soft: it is hidden, `update --active` brings it back)."""
    require_yes_or_terminal(yes=yes, action="deleting a product")
    async with open_client() as client:
        product = await client.products.get(product_id, include_inactive=True)
        label = f"{product.name} ({product.sku or 'no sku'}, {product.stock} in stock)"
        confirm(f"Delete product {label}?", yes=yes, action="deleting a product")
        await client.products.delete(product.id)
    success(
        f"deleted product {product.id} ({product.name}); `shopkit products update "
        f"{product.id} --active` revives it"
    )


@app.command(
    "export",
    epilog=examples(
        "shopkit products export -o catalog.csv",
        "shopkit products export --active-only > catalog.json",
    ),
)
@async_command
async def export_products(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: stdout).", dir_okay=False),
    ] = None,
    format: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format", "-f", help="json or csv (default: from the file name, else json)."
        ),
    ] = None,
    active_only: Annotated[
        bool, typer.Option("--active-only", help="Leave deleted (inactive) products out.")
    ] = False,
) -> None:
    """Write the catalog in the format `shopkit seed` reads back."""
    import time

    from shopkit_cli import catalog, export
    from shopkit_cli.seeding import read_products

    chosen = format.value if format else catalog.format_for(output, default="json")
    started = time.monotonic()
    async with open_client() as client:
        categories = await client.categories.list()
        with progress("exporting products") as bar:
            products = await read_products(client, bar, include_inactive=not active_only)
    text = export.dump(chosen, categories, products)
    took = time.monotonic() - started
    without_sku = sum(1 for p in products if not p.sku)
    if without_sku:
        warn(
            f"{without_sku} product(s) have no sku: `shopkit seed` cannot match them and will "
            "report them as failed rows"
        )
    summary = f"{len(products)} products and {len(categories)} categories in {took:.1f} s"
    if output is None:
        typer.echo(text, nl=False)
        info(f"exported {summary}")
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    success(f"exported {summary} to {output}")
