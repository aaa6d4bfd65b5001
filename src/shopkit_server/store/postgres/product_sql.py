"""SQL for product listings and searches: one query for the page with its exact total.

Every filter and sort has an index (see ``products.SCHEMA``); ties are broken by ``seq`` (an
identity column, the last column of every sort index), so pages never overlap or skip a row.

Search follows the SQLite store's semantics: every word must match (AND), the last one also as
a prefix (``headph`` finds "headphones" while the user types), words are stemmed and
accent-folded, and a match in the name ranks above one in the tags, above one in the
description (weights A, B and D: ``ts_rank`` counts them 1.0, 0.4 and 0.1, the 10:4:1 of
SQLite's ``bm25``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shopkit_server.products.models import ProductQuery, ProductSort

PRODUCT_COLUMNS = (
    "p.id, p.sku, p.name, p.description, p.price, p.category, p.tags, p.image_url, "
    "p.stock, p.is_active, p.is_featured, p.created_at, p.updated_at"
)

_ORDER = {
    ProductSort.NEWEST: "p.created_at DESC, p.seq DESC",
    ProductSort.PRICE_ASC: "p.price ASC, p.seq ASC",
    ProductSort.PRICE_DESC: "p.price DESC, p.seq DESC",
    ProductSort.NAME: "p.name_key ASC, p.seq ASC",
}


@dataclass(frozen=True)
class FindSql:
    page: str
    count: str
    params: list[Any]  # shared by both: the page adds LIMIT and OFFSET as the last two

    def page_params(self, *, limit: int, offset: int) -> list[Any]:
        return [*self.params, limit, offset]


def tsquery_text(terms: tuple[str, ...]) -> str:
    """A ``to_tsquery`` text of the terms: each quoted (never syntax), ANDed, the last a prefix.

    ``("wireless", "headph")`` -> ``'wireless' & 'headph':*``. The terms carry only word
    characters (see ``service.search_terms``); quotes are doubled all the same.
    """
    quoted = ["'" + term.replace("'", "''").replace("\\", "\\\\") + "'" for term in terms]
    quoted[-1] += ":*"
    return " & ".join(quoted)


def build_find(query: ProductQuery) -> FindSql:
    where: list[str] = []
    params: list[Any] = []

    def bind(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    searching = bool(query.search_terms)
    source = "products p"
    if searching:
        # The same fold the stored vector was made with (shopkit_fold, products.SCHEMA).
        source = (
            "products p, to_tsquery('shopkit_search', "
            f"shopkit_fold({bind(tsquery_text(query.search_terms))})) q"
        )
        where.append("p.search @@ q")
    if not query.include_inactive:
        where.append("p.is_active")
    if query.categories is not None:
        where.append(f"p.category = ANY({bind(list(query.categories))}::text[])")
    if query.min_price is not None:
        where.append(f"p.price >= {bind(query.min_price)}")
    if query.max_price is not None:
        where.append(f"p.price <= {bind(query.max_price)}")
    if query.tags:
        where.append(f"p.tags @> {bind(list(query.tags))}::text[]")
    if query.in_stock is not None:
        where.append("p.stock > 0" if query.in_stock else "p.stock = 0")
    if query.featured is not None:
        where.append(f"p.is_featured = {bind(query.featured)}")

    clause = f" WHERE {' AND '.join(where)}" if where else ""
    if query.sort is ProductSort.RELEVANCE:
        order = "ts_rank(p.search, q) DESC, p.seq DESC" if searching else _ORDER[ProductSort.NEWEST]
    else:
        order = _ORDER[query.sort]
    count = f"SELECT count(*) FROM {source}{clause}"
    n = len(params)
    # The uncorrelated sub-select runs once (an InitPlan), so the total costs one count.
    page = (
        f"SELECT ({count}) AS total, {PRODUCT_COLUMNS} FROM {source}{clause} "
        f"ORDER BY {order} LIMIT ${n + 1} OFFSET ${n + 2}"
    )
    return FindSql(page=page, count=count, params=params)
