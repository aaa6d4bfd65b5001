"""``shopkit seed FILE``: load a catalog (JSON or CSV) into the shop, idempotently."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shopkit_cli.output import (
    EXIT_ERROR,
    Column,
    emit_table,
    fail,
    info,
    print_json,
    progress,
    success,
    warn,
)
from shopkit_cli.params import JsonOption, examples
from shopkit_cli.session import async_command, open_client, want_json

if TYPE_CHECKING:
    from shopkit_cli.seeding import Report


EXAMPLES = examples(
    "shopkit seed examples/catalog.json --dry-run   # what would change",
    "shopkit seed examples/catalog.json   # again: nothing changes",
    "shopkit seed products.csv --batch-size 200",
)


class FileFormat(StrEnum):
    json = "json"
    csv = "csv"


PLAN_COLUMNS = [
    Column("action", "action"),
    Column("row", "row", justify="right"),
    Column("sku", "sku"),
    Column("name", "name", max_width=40),
    Column("fields", "changes"),
]
FAILURE_COLUMNS = [
    Column("row", "row", justify="right"),
    Column("sku", "sku"),
    Column("reason", "reason"),
]
SUMMARY_COLUMNS = [Column("what", "what"), Column("count", "count", justify="right")]


@async_command
async def seed(
    file: Annotated[
        Path,
        typer.Argument(
            help="Catalog file: JSON like examples/catalog.json, or CSV.",
            exists=True,
            dir_okay=False,
            readable=True,
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    format: Annotated[
        FileFormat | None,
        typer.Option("--format", "-f", help="json or csv (default: from the file name)."),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=500, help="Products per bulk request (at most 500).")
    ] = 500,
    as_json: JsonOption = False,
) -> None:
    """Create missing categories, then upsert products by sku (run it twice: no change)."""
    from shopkit_cli import seeding

    with seeding.released_at_the_end():
        await _seed(file, dry_run=dry_run, format=format, batch_size=batch_size, as_json=as_json)


async def _seed(
    file: Path, *, dry_run: bool, format: FileFormat | None, batch_size: int, as_json: bool
) -> None:
    from shopkit_cli import catalog, seeding

    try:
        with seeding.kept_to_the_end():
            parsed = catalog.read(file, format.value if format else None)
    except catalog.CatalogError as exc:
        fail(str(exc))
    if not parsed.rows and not parsed.categories:
        warn(f"{file} has no products and no categories")
    started = time.monotonic()
    async with open_client() as client:
        try:
            with progress("reading the shop's products") as reading:
                plan = await seeding.make_plan(client, parsed, compare=dry_run, progress=reading)
        except catalog.CatalogError as exc:
            fail(f"{file}: {exc}")
        if dry_run:
            report = seeding.dry_run_report(plan)
        else:
            with progress("seeding products", plan.count("send")) as bar:
                report = await seeding.apply(client, plan, batch_size=batch_size, progress=bar)
    report.seconds = time.monotonic() - started
    _show(report, as_json=want_json(as_json))
    if report.failures:
        raise typer.Exit(EXIT_ERROR)


def _show(report: Report, *, as_json: bool) -> None:
    if as_json:
        print_json(report.as_dict())
    else:
        if report.dry_run and report.changes:
            emit_table(
                [
                    {
                        "action": p.action,
                        "row": p.row.number,
                        "sku": p.row.sku,
                        "name": p.row.fields.get("name"),
                        "fields": ", ".join(p.changes),
                    }
                    for p in report.changes
                ],
                PLAN_COLUMNS,
                "Would change",
            )
        verb = "would be " if report.dry_run else ""
        emit_table(
            [
                {"what": f"categories {verb}created", "count": len(report.categories_created)},
                {"what": f"products {verb}created", "count": report.created},
                {"what": f"products {verb}updated", "count": report.updated},
                {"what": "products unchanged (skipped)", "count": report.unchanged},
                {"what": "rows failed", "count": len(report.failures)},
            ],
            SUMMARY_COLUMNS,
            "Seed (dry run: nothing written)" if report.dry_run else "Seed",
        )
        if report.failures:
            emit_table(
                [
                    {"row": p.row.number, "sku": p.row.sku, "reason": p.reason}
                    for p in report.failures
                ],
                FAILURE_COLUMNS,
                "Failed rows",
            )
    if report.failures:
        lines = "; ".join(f"row {p.row.number}: {p.reason}" for p in report.failures[:3])
        more = f" (and {len(report.failures) - 3} more)" if len(report.failures) > 3 else ""
        info(f"error: {len(report.failures)} row(s) failed: {lines}{more}")
    elif report.dry_run:
        info("dry run: nothing was written")
    else:
        success(
            f"seeded: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged in {report.seconds:.1f} s"
        )
