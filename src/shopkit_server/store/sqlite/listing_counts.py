"""Exact totals of product listings without counting every match on every page.

Counting the ~10,000 products of a broad category costs ~1 ms of SQL per page while the page
itself costs ~0.1 ms. The count of a filter only changes when a row it reads changes, so each
process keeps the totals it counted (:class:`CountMemo`, keyed by the count's SQL and
parameters) together with the *count revision* they were counted at.

The count revision is one integer in the database, ``catalog_revision.n``, which triggers bump
in the transaction of every write that can move a listing's count or a search's matches: any
insert or delete of a product, variant or category, and an update of a column a listing filter
or the full-text index reads (``is_active``, ``category``, ``price_cents``, ``is_featured``,
``tags``, the text columns; ``stock`` only when it crosses zero, which is all ``in_stock``
tests). Since it lives in the database, every connection and every process sharing the file
sees it move with the data itself, Redis or not: an order that takes stock of a product that
stays in stock leaves every total valid; one that sells the last unit moves it.

A page reads the revision in the statement that reads its items (one statement, one snapshot):
when it still equals the memo's, the memo's total is exact for that very snapshot and the count
is skipped (``CASE`` evaluates its counting sub-select only in the other branch); otherwise the
same statement counts, and the new total is kept with the revision it was read with. So a total
is never older than the page it comes with.

A new listing filter on another column must add that column to the triggers below (in a new
migration).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

# Positional migration (see schema.py): the revision row and the triggers that bump it.
_BUMP = "UPDATE catalog_revision SET n = n + 1 WHERE id = 1;"
_CROSSES_ZERO = "(old.stock > 0) IS NOT (new.stock > 0)"
MIGRATION: tuple[str, ...] = (
    """CREATE TABLE catalog_revision (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        n INTEGER NOT NULL
    )""",
    "INSERT INTO catalog_revision (id, n) VALUES (1, 0)",
    f"CREATE TRIGGER catalog_revision_product_insert AFTER INSERT ON products BEGIN {_BUMP} END",
    f"CREATE TRIGGER catalog_revision_product_delete AFTER DELETE ON products BEGIN {_BUMP} END",
    f"""CREATE TRIGGER catalog_revision_product_update AFTER UPDATE ON products
        WHEN old.is_active IS NOT new.is_active OR old.category IS NOT new.category
          OR old.price_cents IS NOT new.price_cents OR old.is_featured IS NOT new.is_featured
          OR old.tags IS NOT new.tags OR old.name IS NOT new.name
          OR old.description IS NOT new.description OR old.option_words IS NOT new.option_words
          OR {_CROSSES_ZERO}
        BEGIN {_BUMP} END""",
    f"CREATE TRIGGER catalog_revision_variant_insert AFTER INSERT ON product_variants "
    f"BEGIN {_BUMP} END",
    f"CREATE TRIGGER catalog_revision_variant_delete AFTER DELETE ON product_variants "
    f"BEGIN {_BUMP} END",
    f"""CREATE TRIGGER catalog_revision_variant_update AFTER UPDATE ON product_variants
        WHEN old.is_active IS NOT new.is_active OR old.option_keys IS NOT new.option_keys
          OR old.product_id IS NOT new.product_id OR {_CROSSES_ZERO}
        BEGIN {_BUMP} END""",
    f"CREATE TRIGGER catalog_revision_category_insert AFTER INSERT ON categories BEGIN {_BUMP} END",
    f"CREATE TRIGGER catalog_revision_category_update AFTER UPDATE ON categories BEGIN {_BUMP} END",
    f"CREATE TRIGGER catalog_revision_category_delete AFTER DELETE ON categories BEGIN {_BUMP} END",
)

REVISION_SQL = "(SELECT n FROM catalog_revision WHERE id = 1)"

# Distinct filters remembered per process (least recently used dropped first): bounded, so
# query strings crafted to miss cannot grow the process.
MAX_ENTRIES = 1024

Key = tuple[str, tuple[Any, ...]]


def memo_key(count_sql: str, params: list[Any]) -> Key:
    return (count_sql, tuple(params))


class CountMemo:
    """The counts this process has read, each with the revision it was read at."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[Key, tuple[int, int]] = OrderedDict()
        self._max = max_entries

    def get(self, key: Key) -> tuple[int, int] | None:
        """``(revision, counted)`` of the last count of ``key``, or None."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: Key, revision: int, counted: int) -> None:
        self._entries[key] = (revision, counted)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
