"""``shopkit categories``: the category tree."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from shopkit_cli.output import (
    Column,
    confirm,
    emit_list,
    emit_object,
    fail,
    is_terminal,
    print_json,
    print_rich,
    require_yes_or_terminal,
    success,
)
from shopkit_cli.params import JsonOption, YesOption, examples
from shopkit_cli.session import async_command, open_client, want_json

if TYPE_CHECKING:
    from shopkit import AsyncShopClient
    from shopkit.types import Category

app = typer.Typer(help="Organise the catalog's categories.", no_args_is_help=True)

COLUMNS = [
    Column("id", "id"),
    Column("name", "name"),
    Column("slug", "slug"),
    Column("parent", "parent"),
    Column("sort_order", "order", justify="right"),
]
FIELDS = [Column(c.key, c.header) for c in COLUMNS]


@app.command(
    "list",
    epilog=examples(
        "shopkit categories list --tree",
        "shopkit --json categories list | jq -r '.[].name'",
    ),
)
@async_command
async def list_categories(
    tree: Annotated[bool, typer.Option("--tree", help="Show sub-categories nested.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List categories (by sort order, then name)."""
    async with open_client(login_required=False) as client:
        categories = await client.categories.list(tree=tree)
    if tree:
        if want_json(as_json):
            print_json(categories)
        else:
            _print_tree(categories)
        return
    names = {c.id: c.name for c in categories}
    rows = [_row(c, names) for c in categories]
    emit_list(rows, COLUMNS, as_json=want_json(as_json), empty="no categories")


def _row(category: Category, names: dict[str, str]) -> dict[str, Any]:
    data = category.model_dump(mode="json", exclude={"children"})
    data["parent"] = names.get(category.parent_id or "")
    return data


def _print_tree(roots: list[Category]) -> None:
    if not roots:
        from shopkit_cli.output import info

        info("no categories")
        return
    if is_terminal():
        from rich.tree import Tree

        from shopkit_cli.output import escape

        top = Tree("[bold]categories[/bold]", guide_style="dim")

        def grow(node: Tree, items: list[Category]) -> None:
            for item in items:
                grow(node.add(f"{escape(item.name)} [dim]{item.id}[/dim]"), item.children)

        grow(top, roots)
        print_rich(top)
        return

    def walk(items: list[Category], depth: int) -> None:
        for item in items:
            typer.echo(f"{'  ' * depth}{item.name}\t{item.id}")
            walk(item.children, depth + 1)

    walk(roots, 0)


@app.command(
    "create",
    epilog=examples(
        "shopkit categories create Headphones --parent Audio",
        "shopkit categories create Toys --sort-order 5",
    ),
)
@async_command
async def create_category(
    name: Annotated[str, typer.Argument(help="The new category's name.", show_default=False)],
    parent: Annotated[
        str | None, typer.Option("--parent", help="Parent category (name or id).")
    ] = None,
    sort_order: Annotated[int | None, typer.Option(help="Position among its siblings.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a category (admins)."""
    async with open_client() as client:
        parent_id = (await find(client, parent)).id if parent else None
        extra: dict[str, Any] = {"sort_order": sort_order} if sort_order is not None else {}
        category = await client.categories.create(name=name, parent_id=parent_id, **extra)
        names = {c.id: c.name for c in await client.categories.list()} if parent_id else {}
    success(f"created category {category.name} ({category.id})")
    emit_object(_row(category, names), FIELDS, as_json=want_json(as_json))


@app.command(
    "delete",
    epilog=examples(
        "shopkit categories delete Headphones",
        "shopkit categories delete Toys --yes   # in a script",
    ),
)
@async_command
async def delete_category(
    category: Annotated[str, typer.Argument(help="Name or id.", show_default=False)],
    yes: YesOption = False,
) -> None:
    """Delete a category no product or sub-category uses (admins)."""
    require_yes_or_terminal(yes=yes, action="deleting a category")
    async with open_client() as client:
        found = await find(client, category)
        confirm(f"Delete category {found.name}?", yes=yes, action="deleting a category")
        await client.categories.delete(found.id)
    success(f"deleted category {found.name} ({found.id})")


async def find(client: AsyncShopClient, name_or_id: str) -> Category:
    """The category with this id, else this name (any case)."""
    from shopkit._catalog import slugify

    categories = await client.categories.list()
    for category in categories:
        if category.id == name_or_id:
            return category
    key = slugify(name_or_id)
    for category in categories:
        if category.slug == key or slugify(category.name) == key:
            return category
    fail(f"no category named {name_or_id!r} (see `shopkit categories list`)")
