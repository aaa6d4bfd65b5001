"""SQLite storage for categories.

``products.category`` references ``categories.name`` (ON UPDATE CASCADE), so a rename reaches
every product in the same statement and the database itself refuses a product in a category
that does not exist, or the deletion of a category still in use.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from shopkit_server.products.models import Category, CategoryUsage
from shopkit_server.products.repository import MissingCategory
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.store.sqlite.db import Database, Row

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE categories (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        slug TEXT NOT NULL UNIQUE,
        parent_id TEXT REFERENCES categories(id),
        sort_order INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX categories_parent ON categories (parent_id)",
)

_COLUMNS = "id, name, slug, parent_id, sort_order"


def _category(row: Row) -> Category:
    return Category(id=row[0], name=row[1], slug=row[2], parent_id=row[3], sort_order=row[4])


def _integrity(exc: sqlite3.IntegrityError) -> Exception:
    message = str(exc)
    if "categories.slug" in message or "categories.name" in message:
        return DuplicateKeyError("slug")
    if "FOREIGN KEY" in message:
        return MissingCategory()
    return exc


class SqliteCategoryRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def list_all(self) -> list[Category]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM categories ORDER BY sort_order, name"
        )
        return [_category(row) for row in rows]

    async def get(self, category_id: str) -> Category | None:
        row = await self._db.read_one_now(
            f"SELECT {_COLUMNS} FROM categories WHERE id = ?", (category_id,)
        )
        return _category(row) if row is not None else None

    async def get_by_slug(self, slug: str) -> Category | None:
        row = await self._db.read_one_now(
            f"SELECT {_COLUMNS} FROM categories WHERE slug = ?", (slug,)
        )
        return _category(row) if row is not None else None

    async def subtree_names(self, slug: str) -> list[str]:
        # UNION (not UNION ALL) stops on a row already seen, so even a cycle terminates. A walk
        # of the category tree by its indexed parent_id: bounded by the subtree, on the loop.
        rows = await self._db.read_now(
            """WITH RECURSIVE subtree(id, name) AS (
                   SELECT id, name FROM categories WHERE slug = ?
                   UNION
                   SELECT c.id, c.name FROM categories c JOIN subtree s ON c.parent_id = s.id
               )
               SELECT name FROM subtree""",
            (slug,),
        )
        return [row[0] for row in rows]

    async def create(self, category: Category) -> None:
        try:
            async with self._db.write() as conn:
                await conn.execute(
                    "INSERT INTO categories (id, name, slug, parent_id, sort_order, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        category.id,
                        category.name,
                        category.slug,
                        category.parent_id,
                        category.sort_order,
                        datetime.now(UTC).isoformat(),
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc) from exc

    async def update(self, category: Category) -> None:
        # The foreign key cascades a rename to the products in the same statement.
        try:
            async with self._db.write() as conn:
                await conn.execute(
                    "UPDATE categories SET name = ?, slug = ?, parent_id = ?, sort_order = ? "
                    "WHERE id = ?",
                    (
                        category.name,
                        category.slug,
                        category.parent_id,
                        category.sort_order,
                        category.id,
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc) from exc

    async def delete_if_unused(self, category_id: str) -> CategoryUsage:
        async with self._db.write() as conn:
            rows = list(
                await conn.execute_fetchall(
                    """SELECT
                       (SELECT COUNT(*) FROM products p
                         WHERE p.category = (SELECT name FROM categories WHERE id = ?)),
                       (SELECT COUNT(*) FROM categories WHERE parent_id = ?)""",
                    (category_id, category_id),
                )
            )
            usage = CategoryUsage(products=int(rows[0][0]), children=int(rows[0][1]))
            if not usage.in_use:
                await conn.execute("DELETE FROM categories WHERE id = ?", (category_id,))
        return usage
