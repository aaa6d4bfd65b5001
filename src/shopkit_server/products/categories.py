"""Categories: a tree of unique names, each with a slug derived from its name.

A category is found by its name or its slug in any case (``Home & Garden``, ``home-garden``):
both reduce to the same slug, and slugs are unique, so two names that differ only in case or
punctuation cannot coexist.
"""

from __future__ import annotations

from dataclasses import replace

from shopkit._catalog import slugify
from shopkit_server.ids import is_valid_id, new_id
from shopkit_server.products.errors import (
    CategoryCycle,
    CategoryExists,
    CategoryInUse,
    CategoryNotFound,
    InvalidCategoryName,
    UnknownCategory,
    UnknownParent,
)
from shopkit_server.products.models import Category, CategoryChanges, CategoryDraft
from shopkit_server.products.repository import CategoryRepository, MissingCategory
from shopkit_server.products.version import CatalogVersion, changes_catalog
from shopkit_server.store.base import DuplicateKeyError


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


class CategoryCatalog:
    def __init__(self, repository: CategoryRepository, version: CatalogVersion) -> None:
        self.repository = repository
        self.version = version

    async def list_all(self) -> list[Category]:
        """Every category, by sort_order then name (case-insensitive), the same on every store."""
        categories = await self.repository.list_all()
        return sorted(categories, key=lambda c: (c.sort_order, c.name.casefold(), c.id))

    async def tree(self) -> list[Category]:
        """The root categories, each with its children nested, every level in list order."""
        flat = await self.list_all()
        children: dict[str | None, list[Category]] = {}
        known = {category.id for category in flat}
        for category in flat:
            parent = category.parent_id if category.parent_id in known else None
            children.setdefault(parent, []).append(category)

        def build(parent: str | None) -> list[Category]:
            # Walking down from the roots cannot loop: a cycle has no way in from a root.
            return [
                replace(category, children=build(category.id))
                for category in children.get(parent, [])
            ]

        return build(None)

    async def get(self, category_id: str) -> Category:
        category = await self.repository.get(category_id) if is_valid_id(category_id) else None
        if category is None:
            raise CategoryNotFound()
        return category

    @changes_catalog
    async def create(self, draft: CategoryDraft) -> Category:
        slug = self._slug(draft.name)
        if draft.parent_id is not None:
            await self._parent(draft.parent_id)
        category = Category(
            id=new_id(),
            name=draft.name,
            slug=slug,
            parent_id=draft.parent_id,
            sort_order=draft.sort_order,
        )
        try:
            await self.repository.create(category)
        except DuplicateKeyError:
            raise self._exists(draft.name) from None
        except MissingCategory:  # the parent was deleted since we looked
            raise UnknownParent() from None
        return category

    @changes_catalog
    async def update(self, category_id: str, changes: CategoryChanges) -> Category:
        """Rename, move (``parent_id=None`` makes it a root) or reorder a category.

        A rename carries over to the products of the category. Moving a category under itself
        or under one of its descendants is refused (CategoryCycle).
        """
        current = await self.get(category_id)
        changed = current
        if "name" in changes and changes["name"] != current.name:
            changed = replace(changed, name=changes["name"], slug=self._slug(changes["name"]))
        if "parent_id" in changes and changes["parent_id"] != current.parent_id:
            parent_id = changes["parent_id"]
            if parent_id is not None:
                await self._check_move(current, parent_id)
            changed = replace(changed, parent_id=parent_id)
        if "sort_order" in changes:
            changed = replace(changed, sort_order=changes["sort_order"])
        if changed == current:
            return current
        try:
            await self.repository.update(changed)
        except DuplicateKeyError:
            raise self._exists(changed.name) from None
        except MissingCategory:
            raise UnknownParent() from None
        return changed

    @changes_catalog
    async def delete(self, category_id: str) -> None:
        """Delete an unused category (CategoryInUse while products or sub-categories use it)."""
        category = await self.get(category_id)
        usage = await self.repository.delete_if_unused(category.id)
        if usage.in_use:
            uses = []
            if usage.products:
                uses.append(_plural(usage.products, "product", "products"))
            if usage.children:
                uses.append(_plural(usage.children, "sub-category", "sub-categories"))
            raise CategoryInUse(
                f"Category {category.name!r} is still used by {' and '.join(uses)}."
            )

    # -- lookups the product side needs ------------------------------------------------------

    async def find(self, name_or_slug: str) -> Category | None:
        """The category a client named (by name or slug, in any case), if it exists."""
        slug = slugify(name_or_slug)
        return await self.repository.get_by_slug(slug) if slug else None

    async def canonical_name(self, name_or_slug: str) -> str:
        """The stored name of the category a client named; UnknownCategory otherwise."""
        category = await self.find(name_or_slug)
        if category is None:
            raise UnknownCategory(f"Category {name_or_slug!r} does not exist.")
        return category.name

    async def subtree_names(self, name_or_slug: str) -> list[str]:
        slug = slugify(name_or_slug)
        return await self.repository.subtree_names(slug) if slug else []

    async def names_by_slug(self) -> dict[str, str]:
        return {category.slug: category.name for category in await self.repository.list_all()}

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _slug(name: str) -> str:
        slug = slugify(name)
        if not slug:
            raise InvalidCategoryName()
        return slug

    @staticmethod
    def _exists(name: str) -> CategoryExists:
        return CategoryExists(
            f"A category named {name!r} (or one whose name differs only in case or "
            "punctuation) already exists."
        )

    async def _parent(self, parent_id: str) -> Category:
        parent = await self.repository.get(parent_id) if is_valid_id(parent_id) else None
        if parent is None:
            raise UnknownParent()
        return parent

    async def _check_move(self, category: Category, parent_id: str) -> None:
        await self._parent(parent_id)
        parents = {c.id: c.parent_id for c in await self.repository.list_all()}
        seen: set[str] = set()
        cursor: str | None = parent_id
        while cursor is not None and cursor not in seen:
            if cursor == category.id:
                raise CategoryCycle(
                    f"Category {category.name!r} cannot move under itself or its descendants."
                )
            seen.add(cursor)
            cursor = parents.get(cursor)
