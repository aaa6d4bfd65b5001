"""PostgreSQL storage for categories.

``products.category`` references ``categories.name`` (``ON UPDATE CASCADE``), so a rename reaches
every product in the same statement and the database itself refuses a product in a category that
does not exist, or the deletion of a category still in use.
"""

from __future__ import annotations

import asyncpg

from shopkit_server.clock import utc_now
from shopkit_server.products.models import Category, CategoryUsage
from shopkit_server.products.repository import MissingCategory
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.store.postgres.db import Connection, Database, Record

SCHEMA: tuple[str, ...] = (
    # COLLATE "C": names sort by code point, as on SQLite, whatever the server's locale.
    """CREATE TABLE categories (
        id text COLLATE "C" PRIMARY KEY,
        name text COLLATE "C" NOT NULL UNIQUE,
        slug text COLLATE "C" NOT NULL UNIQUE,
        parent_id text COLLATE "C" REFERENCES categories (id),
        sort_order integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL
    )""",
    "CREATE INDEX categories_parent ON categories (parent_id)",
    "CREATE INDEX categories_order ON categories (sort_order, name)",
)

_COLUMNS = "id, name, slug, parent_id, sort_order"


def _category(row: Record) -> Category:
    return Category(id=row[0], name=row[1], slug=row[2], parent_id=row[3], sort_order=row[4])


def _integrity(exc: asyncpg.IntegrityConstraintViolationError) -> Exception:
    if isinstance(exc, asyncpg.UniqueViolationError):
        return DuplicateKeyError("slug")
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return MissingCategory()
    return exc


class PostgresCategoryRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def list_all(self) -> list[Category]:
        rows = await self._db.fetch(f"SELECT {_COLUMNS} FROM categories ORDER BY sort_order, name")
        return [_category(row) for row in rows]

    async def get(self, category_id: str) -> Category | None:
        row = await self._db.fetchrow(
            f"SELECT {_COLUMNS} FROM categories WHERE id = $1", category_id
        )
        return _category(row) if row is not None else None

    async def get_by_slug(self, slug: str) -> Category | None:
        row = await self._db.fetchrow(f"SELECT {_COLUMNS} FROM categories WHERE slug = $1", slug)
        return _category(row) if row is not None else None

    async def subtree_names(self, slug: str) -> list[str]:
        # UNION (not UNION ALL) stops on a row already seen, so even a cycle terminates.
        rows = await self._db.fetch(
            """WITH RECURSIVE subtree(id, name) AS (
                   SELECT id, name FROM categories WHERE slug = $1
                   UNION
                   SELECT c.id, c.name FROM categories c JOIN subtree s ON c.parent_id = s.id
               )
               SELECT name FROM subtree""",
            slug,
        )
        return [row[0] for row in rows]

    async def create(self, category: Category) -> None:
        try:
            await self._db.execute(
                "INSERT INTO categories (id, name, slug, parent_id, sort_order, created_at) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                category.id,
                category.name,
                category.slug,
                category.parent_id,
                category.sort_order,
                utc_now(),
            )
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise _integrity(exc) from exc

    async def update(self, category: Category) -> None:
        # The foreign key cascades a rename to the products in the same statement.
        try:
            await self._db.execute(
                "UPDATE categories SET name = $2, slug = $3, parent_id = $4, sort_order = $5 "
                "WHERE id = $1",
                category.id,
                category.name,
                category.slug,
                category.parent_id,
                category.sort_order,
            )
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise _integrity(exc) from exc

    async def delete_if_unused(self, category_id: str) -> CategoryUsage:
        async def run(conn: Connection) -> CategoryUsage:
            # FOR UPDATE conflicts with the key-share lock a product insert takes on the
            # category it names: such an insert waits, then fails on the foreign key, so no
            # product can slip into the category between the count and the delete.
            name = await conn.fetchval(
                "SELECT name FROM categories WHERE id = $1 FOR UPDATE", category_id
            )
            if name is None:
                return CategoryUsage(products=0, children=0)
            row = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM products WHERE category = $1), "
                "(SELECT count(*) FROM categories WHERE parent_id = $2)",
                name,
                category_id,
            )
            assert row is not None
            usage = CategoryUsage(products=int(row[0]), children=int(row[1]))
            if not usage.in_use:
                await conn.execute("DELETE FROM categories WHERE id = $1", category_id)
            return usage

        return await self._db.transaction(run)
