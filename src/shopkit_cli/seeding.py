"""``shopkit seed``: compare a catalog file with the shop, then make the shop match it.

A dry run reads the server's categories and every product (inactive ones too) and plans each
row: ``create`` (new sku), ``update`` (some given field differs, named), ``unchanged`` (every
given field already equal) or ``failed`` (a local check, a repeated sku).

A real run does not read the products first: reading a catalog page by page costs more than
writing it in batches of 500 (bench/seed_reseed.py). It creates the missing categories,
parents first, then sends every locally valid row to the bulk endpoint, which compares each
row with the stored product by sku in one query per batch and reports it ``created``,
``updated`` or ``unchanged`` (an unchanged row is not written, its ``updated_at`` stays), so
a second run writes nothing and costs less than the first.
"""

from __future__ import annotations

import asyncio
import gc
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shopkit._catalog import slugify
from shopkit_cli.catalog import Catalog, CatalogError, CategorySpec, Row
from shopkit_cli.output import Progress

if TYPE_CHECKING:
    from shopkit import APIStatusError, AsyncShopClient
    from shopkit.types import BulkResult, Category, Product

MAX_BATCH = 500  # the bulk endpoint's limit


@dataclass
class CategoryStep:
    """A category to create; ``parent`` is the parent's name (None: a root)."""

    name: str
    parent: str | None
    sort_order: int | None
    error: str | None = None


@dataclass
class RowPlan:
    row: Row
    action: str  # create | update | unchanged | failed; send (a real run: the server decides)
    changes: list[str] = field(default_factory=list)
    reason: str | None = None


@dataclass
class Plan:
    categories: list[CategoryStep]
    rows: list[RowPlan]
    existing_categories: dict[str, Category]  # by slug

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)


@dataclass
class Report:
    dry_run: bool
    categories_created: list[str]
    created: int
    updated: int
    unchanged: int
    failures: list[RowPlan]
    changes: list[RowPlan]
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "categories_created": self.categories_created,
            "products": {
                "created": self.created,
                "updated": self.updated,
                "unchanged": self.unchanged,
                "failed": len(self.failures),
            },
            "changes": [
                {"row": p.row.number, "sku": p.row.sku, "action": p.action, "fields": p.changes}
                for p in self.changes
            ],
            "failures": [
                {"row": p.row.number, "sku": p.row.sku, "reason": p.reason} for p in self.failures
            ],
        }


@contextmanager
def kept_to_the_end() -> Iterator[None]:
    """Build data the command keeps until it exits (a parsed catalog, its plan) with the
    cyclic collector off, then move it out of the collector's sight (``gc.freeze``).

    Rows are dicts, lists and strings without cycles, freed by reference counting when the
    process ends; but each full collection walks every live object, and reading 100,000 rows
    set off enough of them to be a third of the read's time. The garbage already there is
    collected first (a walk of what is not yet frozen), so that none of it is frozen with
    the data."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


@contextmanager
def released_at_the_end() -> Iterator[None]:
    """A command's run, after which what :func:`kept_to_the_end` froze is handed back to the
    collector (``gc.unfreeze``): a process that goes on after the command, a test's, keeps
    collecting its cycles."""
    try:
        yield
    finally:
        gc.unfreeze()


# -- planning -------------------------------------------------------------------------------


async def make_plan(
    client: AsyncShopClient, catalog: Catalog, *, compare: bool, progress: Progress
) -> Plan:
    """The categories to create and each row's action; ``compare`` reads every product to
    say which rows create, update or are unchanged (a dry run), else valid rows are ``send``."""
    existing = {c.slug: c for c in await client.categories.list()}
    existing.update({slugify(c.name): c for c in existing.values()})
    steps = _category_steps(catalog, existing)
    products = None
    if compare:
        products = {p.sku: p for p in await read_products(client, progress) if p.sku}
    with kept_to_the_end():
        rows = _row_plans(catalog.rows, products)
    return Plan(categories=steps, rows=rows, existing_categories=existing)


async def read_products(
    client: AsyncShopClient, progress: Progress, *, include_inactive: bool = True
) -> list[Product]:
    """Every product, page by page (100 each), advancing ``progress`` by each page."""
    from shopkit_cli.paging import PAGE_SIZE, every_page

    return await every_page(
        lambda n: client.products.list(
            include_inactive=include_inactive or None, page=n, page_size=PAGE_SIZE
        ),
        progress,
    )


def _category_steps(catalog: Catalog, existing: dict[str, Category]) -> list[CategoryStep]:
    """The categories to create, every parent before its children."""
    wanted: dict[str, CategorySpec] = {}
    for spec in catalog.categories:
        wanted.setdefault(slugify(spec.name), spec)
    seen: set[tuple[str, str | None]] = set()  # a pair met again changes nothing: no slugify
    for row in catalog.rows:
        if row.error is None:
            for depth, name in enumerate(row.path):
                parent = row.path[depth - 1] if depth else None
                if (name, parent) not in seen:
                    seen.add((name, parent))
                    wanted.setdefault(slugify(name), CategorySpec(name=name, parent=parent))
    # A parent named only as a parent is a root of its own.
    for spec in list(wanted.values()):
        if spec.parent is not None and slugify(spec.parent) not in wanted:
            wanted.setdefault(slugify(spec.parent), CategorySpec(name=spec.parent))

    ordered: list[CategoryStep] = []
    placed: set[str] = set(existing)
    pending = {slug: spec for slug, spec in wanted.items() if slug not in existing}
    while pending:
        ready = [
            slug
            for slug, spec in pending.items()
            if spec.parent is None or slugify(spec.parent) in placed
        ]
        if not ready:
            names = ", ".join(sorted(spec.name for spec in pending.values()))
            raise CatalogError(f"the categories {names} are each other's parents (a cycle)")
        for slug in ready:
            spec = pending.pop(slug)
            ordered.append(CategoryStep(spec.name, spec.parent, spec.sort_order))
            placed.add(slug)
    return ordered


def _row_plans(rows: Sequence[Row], products: dict[str, Product] | None) -> list[RowPlan]:
    plans: list[RowPlan] = []
    first_row: dict[str, int] = {}
    for row in rows:
        if row.error is not None:
            plans.append(RowPlan(row, "failed", reason=row.error))
            continue
        assert row.sku is not None  # rows without one carry an error
        if row.sku in first_row:
            reason = f"sku {row.sku} repeats row {first_row[row.sku]}"
            plans.append(RowPlan(row, "failed", reason=reason))
            continue
        first_row[row.sku] = row.number
        if products is None:
            plans.append(RowPlan(row, "send"))
            continue
        current = products.get(row.sku)
        if current is None:
            plans.append(RowPlan(row, "create"))
            continue
        changes = changed_fields(row.fields, current)
        plans.append(RowPlan(row, "update" if changes else "unchanged", changes=changes))
    return plans


def changed_fields(fields: dict[str, Any], product: Product) -> list[str]:
    """The given fields whose value differs from the product's (category by slug)."""
    changed = []
    for key, value in fields.items():
        if key == "sku":
            continue
        current = getattr(product, key)
        if key == "category":
            same = slugify(value) == slugify(current)
        elif key == "price":  # the product's own price (its variants' default)
            same = Decimal(value) == (product.base_price or product.price)
        elif key == "options":
            same = value == [o.model_dump() for o in product.options]
        elif key == "images":
            same = value == [i.model_dump() for i in product.images]
        elif key == "variants":
            same = _same_variants(value, product)
        else:
            same = value == current
        if not same:
            changed.append(key)
    return changed


def _same_variants(wanted: list[dict[str, Any]], product: Product) -> bool:
    """Whether every variant of the row is stored as it says (by sku; others are kept)."""
    stored = {variant.sku: variant for variant in product.variants}
    for row in wanted:
        found = stored.get(row.get("sku"))
        if found is None:
            return False
        price = row.get("price")
        if (
            found.option_values != row.get("option_values", {})
            or found.stock != row.get("stock", 0)
            or found.is_active != row.get("is_active", True)
            or found.image_url != row.get("image_url")
            or (found.price is None) != (price is None)
            or (price is not None and Decimal(price) != found.price)
        ):
            return False
    return True


# -- applying -------------------------------------------------------------------------------


_IN_FLIGHT = 2  # bulk requests sent before waiting for the first answer


async def apply(
    client: AsyncShopClient, plan: Plan, *, batch_size: int, progress: Progress
) -> Report:
    """Create the categories, then upsert the create and update rows in batches."""
    created_names = await _create_categories(client, plan)
    broken = {slugify(step.name): step for step in plan.categories if step.error is not None}
    to_send: list[RowPlan] = []
    for item in plan.rows:
        if item.action not in ("create", "update", "send"):
            continue
        bad = (
            next((broken[slugify(n)] for n in item.row.path if slugify(n) in broken), None)
            if broken  # none failed (the usual case): no slug to compute per row
            else None
        )
        if bad is not None:
            item.action, item.reason = "failed", f"category {bad.name!r}: {bad.error}"
            continue
        to_send.append(item)

    import shopkit

    async def send(batch: list[RowPlan]) -> BulkResult | APIStatusError:
        try:
            return await client.products.bulk([item.row.fields for item in batch])
        except shopkit.APIStatusError as exc:
            return exc

    created = updated = unchanged = 0

    async def take(batch: list[RowPlan], task: asyncio.Task[BulkResult | APIStatusError]) -> None:
        nonlocal created, updated, unchanged
        result = await task
        if isinstance(result, shopkit.APIStatusError):
            # The server refused the whole request: its rows fail with its reason, the other
            # batches still go (running the seed again retries exactly what is missing).
            rid = f" (request id {result.request_id})" if result.request_id else ""
            for item in batch:
                item.action, item.reason = "failed", f"{result.detail}{rid}"
        else:
            created += result.created
            updated += result.updated
            unchanged += result.unchanged
            for failure in result.failed:
                if 0 <= failure.index < len(batch):
                    batch[failure.index].action = "failed"
                    batch[failure.index].reason = failure.detail
        progress.advance(len(batch))

    # Two requests in flight: the next batch is encoded and sent while the server writes this
    # one (the server still writes them one at a time). Every sku is in one row of the file,
    # so no batch depends on another; the answers are read in the order the batches were made.
    in_flight: deque[tuple[list[RowPlan], asyncio.Task[BulkResult | APIStatusError]]] = deque()
    try:
        for at in range(0, len(to_send), batch_size):
            batch = to_send[at : at + batch_size]
            in_flight.append((batch, asyncio.ensure_future(send(batch))))
            if len(in_flight) == _IN_FLIGHT:
                await take(*in_flight.popleft())
        while in_flight:
            await take(*in_flight.popleft())
    finally:
        for _, task in in_flight:  # an error (not an answer) stopped the seed: stop the rest
            task.cancel()
    return Report(
        dry_run=False,
        categories_created=created_names,
        created=created,
        updated=updated,
        unchanged=plan.count("unchanged") + unchanged,
        failures=[r for r in plan.rows if r.action == "failed"],
        changes=[],  # the server reports counts; `--dry-run` names each row and field
    )


async def _create_categories(client: AsyncShopClient, plan: Plan) -> list[str]:
    import shopkit

    ids = {slug: c.id for slug, c in plan.existing_categories.items()}
    created: list[str] = []
    for step in plan.categories:
        parent_id = None
        if step.parent is not None:
            parent_id = ids.get(slugify(step.parent))
            if parent_id is None:
                step.error = f"its parent {step.parent!r} could not be created"
                continue
        try:
            category = await client.categories.create(
                name=step.name,
                parent_id=parent_id,
                sort_order=shopkit.NOT_GIVEN if step.sort_order is None else step.sort_order,
            )
        except shopkit.CategoryExistsError:
            # Created meanwhile, or the server's slug rules differ from ours: use theirs.
            found = next(
                (
                    c
                    for c in await client.categories.list()
                    if slugify(c.name) == slugify(step.name) or c.slug == slugify(step.name)
                ),
                None,
            )
            if found is None:
                step.error = "the server says it exists but does not list it"
                continue
            ids[slugify(step.name)] = found.id
            continue
        except shopkit.APIStatusError as exc:
            step.error = exc.detail
            continue
        ids[slugify(step.name)] = category.id
        created.append(category.name)
    return created


def dry_run_report(plan: Plan) -> Report:
    return Report(
        dry_run=True,
        categories_created=[step.name for step in plan.categories],
        created=plan.count("create"),
        updated=plan.count("update"),
        unchanged=plan.count("unchanged"),
        failures=[r for r in plan.rows if r.action == "failed"],
        changes=[r for r in plan.rows if r.action in ("create", "update")],
    )
