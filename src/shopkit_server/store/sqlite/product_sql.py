"""SQL for product listings and searches: one query for the page, one for the total (exact up
to ``pagination.COUNT_CAP``).

Every filter and sort has an index (see ``products.SCHEMA``); ties are broken by ``seq`` (the
rowid, implicitly the last column of every index), so pages never overlap or skip a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shopkit_server.money import to_cents
from shopkit_server.pagination import Key, check_key, count_limit
from shopkit_server.products.models import ProductQuery, ProductSort
from shopkit_server.store.sqlite.listing_counts import REVISION_SQL
from shopkit_server.store.sqlite.variants import VARIANTS_JSON

# A product's columns, its variants last (see variants.VARIANTS_JSON).
PRODUCT_COLUMNS = (
    "p.id, p.sku, p.name, p.description, p.price_cents, p.category, p.tags, p.image_url, "
    "p.stock, p.is_active, p.is_featured, p.created_at, p.updated_at, p.base_price_cents, "
    f"p.options, p.images, {VARIANTS_JSON}"
)

# A search matching more products than the count's cap ranks only this many of them, the most
# recently added: bm25 costs ~4.5 us a row, so ranking 97,500 matches takes ~400 ms on a loaded
# 2-core box, 2,000 about 10 ms.
RANKED_WINDOW = 2_000

# Column weights of bm25() for (name, description, tags): a word in the name counts ten times
# a word in the description, so name matches rank first.
_RANK = "bm25(products_fts, 10.0, 1.0, 4.0)"

# Keyset pagination: per sort, the key column (selected after the product columns), its Python
# type, and the direction. ``(key, seq)`` is compared as a row value, which the sort's index
# serves as a range; relevance compares the rank by hand (bm25 is lower for better matches).
_KEYS: dict[ProductSort, tuple[str, type, str]] = {
    ProductSort.NEWEST: ("p.created_at", str, "<"),
    ProductSort.PRICE_ASC: ("p.price_cents", int, ">"),
    ProductSort.PRICE_DESC: ("p.price_cents", int, "<"),
    ProductSort.NAME: ("p.name_key", str, ">"),
}

_ORDER = {
    ProductSort.NEWEST: "p.created_at DESC, p.seq DESC",
    ProductSort.PRICE_ASC: "p.price_cents ASC, p.seq ASC",
    ProductSort.PRICE_DESC: "p.price_cents DESC, p.seq DESC",
    ProductSort.NAME: "p.name_key ASC, p.seq ASC",
}


@dataclass(frozen=True)
class FindSql:
    page: str
    page_params: list[Any]
    count: str
    count_params: list[Any]

    @property
    def page_with_total(self) -> tuple[str, list[Any]]:
        """The page with the total as its first column: one round trip instead of two.

        SQLite runs an uncorrelated scalar subquery once per statement, so the count costs
        what it costs alone. An empty page carries no total; ask :attr:`count` then.
        """
        sql = self.page.replace("SELECT ", f"SELECT ({self.count}) AS total, ", 1)
        return sql, [*self.count_params, *self.page_params]

    def page_with_total_since(self, revision: int) -> tuple[str, list[Any]]:
        """The page with the count revision and the total as its first two columns; the
        total is -1 (not counted) when the revision is still ``revision``.

        One statement, so the revision, the total and the items are of one snapshot (see
        ``listing_counts``). A ``CASE`` branch not taken never runs its sub-select.
        """
        head = (
            f"SELECT {REVISION_SQL} AS revision, CASE WHEN {REVISION_SQL} = ? THEN -1 "
            f"ELSE ({self.count}) END AS total, "
        )
        sql = self.page.replace("SELECT ", head, 1)
        return sql, [revision, *self.count_params, *self.page_params]

    @property
    def count_with_revision(self) -> tuple[str, list[Any]]:
        """The count revision and the total, in one statement."""
        return f"SELECT {REVISION_SQL}, ({self.count})", list(self.count_params)


def fts_match(terms: tuple[str, ...]) -> str:
    """An FTS5 query of the terms, each quoted (never syntax), the last one also as a prefix.

    ``("wireless", "headph")`` -> ``"wireless" "headph"*``: every word must match (implicit
    AND), and ``headph`` finds "headphones" while the user is still typing.
    """
    quoted = ['"' + term.replace('"', '""') + '"' for term in terms]
    quoted[-1] += "*"
    return " ".join(quoted)


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


def build_find(
    query: ProductQuery,
    *,
    offset: int,
    limit: int,
    after: Key | None = None,
    ranked: int | None = None,
) -> FindSql:
    """The page (``limit`` rows from ``offset``, or right after the key ``after``) and count.

    ``ranked``: for a search by relevance, rank only the ``ranked`` most recently added
    matches (the full-text index walks them newest first and stops). bm25 of every match of a
    word in 97% of 100k products is about 150 ms; of 10,000, a tenth of it. A row's bm25 does
    not depend on which rows are ranked, so keys (cursors) compare the same way.
    """
    where: list[str] = []
    params: list[Any] = []
    searching = bool(query.search_terms)
    source = "products p"
    if searching:
        # CROSS JOIN pins the join order: the full-text index finds the matches first. Left to
        # itself the planner may walk every product and probe the index once per row.
        source = "products_fts CROSS JOIN products p ON p.seq = products_fts.rowid"
        where.append("products_fts MATCH ?")
        params.append(fts_match(query.search_terms))
    if not query.include_inactive:
        where.append("p.is_active = 1")
    if query.categories is not None:
        if query.categories:
            where.append(f"p.category IN ({_placeholders(len(query.categories))})")
            params.extend(query.categories)
        else:
            where.append("0")
    if query.min_price is not None:
        where.append("p.price_cents >= ?")
        params.append(to_cents(query.min_price))
    if query.max_price is not None:
        where.append("p.price_cents <= ?")
        params.append(to_cents(query.max_price))
    if query.tags:
        if len(query.tags) == 1:
            where.append("p.seq IN (SELECT product_seq FROM product_tags WHERE tag = ?)")
            params.append(query.tags[0])
        else:
            where.append(
                "p.seq IN (SELECT product_seq FROM product_tags WHERE tag IN "
                f"({_placeholders(len(query.tags))}) GROUP BY product_seq HAVING COUNT(*) = ?)"
            )
            params.extend(query.tags)
            params.append(len(query.tags))
    page_where = list(where)
    if query.in_stock is not None:
        if query.in_stock:
            # Most products are in stock: the count reads the (is_active, stock) index, while
            # the page walks its sort's index and skips the few empty ones. The unary "+" keeps
            # the planner from choosing the stock index for the page, which would then have
            # to sort every product in stock to return twenty.
            where.append("p.stock > 0")
            page_where.append("+p.stock > 0")
        else:
            where.append("p.stock = 0")
            page_where.append("p.stock = 0")
    if query.options:
        # One active variant in stock must carry every wanted value (variants.option_keys).
        matches = " AND ".join("instr(v.option_keys, ?) > 0" for _ in query.options)
        option_filter = (
            "EXISTS (SELECT 1 FROM product_variants v WHERE v.product_id = p.id "
            f"AND v.is_active = 1 AND v.stock > 0 AND {matches})"
        )
        where.append(option_filter)
        page_where.append(option_filter)
        params.extend(f"|{key}|" for key in query.options)
    if query.featured is not None:
        where.append("p.is_featured = ?")
        page_where.append("p.is_featured = ?")
        params.append(int(query.featured))

    clause = f" WHERE {' AND '.join(where)}" if where else ""
    sort = query.sort
    if sort is ProductSort.RELEVANCE and not searching:
        sort = ProductSort.NEWEST
    page_params = list(params)
    page_source, rank_sql = source, _RANK
    if sort is ProductSort.RELEVANCE and ranked is not None:
        # The match and every filter move into the sub-select, which walks the full-text index
        # newest first and stops after ``ranked`` rows that pass the filters (so a filter that
        # keeps few of the newest matches still fills the window). The parameters keep their
        # order: the sub-select comes first; the cursor's condition stays outside.
        inner = f" WHERE {' AND '.join(page_where)}"
        page_source = (
            f"(SELECT products_fts.rowid AS seq, {_RANK} AS rank FROM {source}{inner} "
            f"ORDER BY products_fts.rowid DESC LIMIT {int(ranked)}) AS m "
            "CROSS JOIN products p ON p.seq = m.seq"
        )
        page_where = []
        rank_sql = "m.rank"
    if sort is ProductSort.RELEVANCE:
        order = f"{rank_sql}, p.seq DESC"
        key_column = rank_sql
        if after is not None:
            # bm25 depends on the whole catalog (word frequencies, average length), so a rank
            # kept in a cursor goes stale with any write. Compare with the last item's rank as
            # of now instead (the rank in the key only stands in if it matches no more).
            rank, seq = check_key(after, float, int)
            reference = (
                f"COALESCE((SELECT {_RANK} FROM products_fts WHERE products_fts MATCH ? "
                "AND products_fts.rowid = ?), ?)"
            )
            page_where.append(
                f"({rank_sql} > {reference} OR ({rank_sql} = {reference} AND p.seq < ?))"
            )
            match = fts_match(query.search_terms)
            page_params.extend([match, seq, float(rank), match, seq, float(rank), seq])
    else:
        order = _ORDER[sort]
        key_column, key_type, op = _KEYS[sort]
        if after is not None:
            value, seq = check_key(after, key_type, int)
            page_where.append(f"({key_column}, p.seq) {op} (?, ?)")
            page_params.extend([value, seq])
    page_clause = f" WHERE {' AND '.join(page_where)}" if page_where else ""
    return FindSql(
        page=f"SELECT {PRODUCT_COLUMNS}, {key_column}, p.seq FROM {page_source}{page_clause} "
        f"ORDER BY {order} LIMIT ? OFFSET ?",
        page_params=[*page_params, limit, offset],
        # Capped: a broad filter or search stops counting past COUNT_CAP (see capped_total).
        count=f"SELECT COUNT(*) FROM (SELECT 1 FROM {source}{clause} LIMIT {count_limit()})",
        count_params=params,
    )
