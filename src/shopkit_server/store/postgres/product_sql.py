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

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shopkit_server.errors import InvalidCursor
from shopkit_server.money import to_cents
from shopkit_server.pagination import Key, check_key, count_limit
from shopkit_server.products.models import ProductQuery, ProductSort
from shopkit_server.store.postgres.db import text_from_key, time_from_key

PRODUCT_COLUMNS = (
    "p.id, p.sku, p.name, p.description, p.price, p.category, p.tags, p.image_url, "
    "p.stock, p.is_active, p.is_featured, p.created_at, p.updated_at, p.base_price, "
    "p.options, p.images"
)

_ORDER = {
    ProductSort.NEWEST: "p.created_at DESC, p.seq DESC",
    ProductSort.PRICE_ASC: "p.price ASC, p.seq ASC",
    ProductSort.PRICE_DESC: "p.price DESC, p.seq DESC",
    ProductSort.NAME: "p.name_key ASC, p.seq ASC",
}


# The relevance rank: ts_rank is a real (float4), read back exactly as a Python float.
_RANK = "ts_rank(p.search, q)"

# Keyset pagination: per sort, the key column (selected after the product columns) and the
# comparison that means "after". ``(key, seq)`` is compared as a row value, which the sort's
# index (``products._SORT_INDEXES``) serves as a range, in either scan direction.
_KEYS: dict[ProductSort, tuple[str, str]] = {
    ProductSort.NEWEST: ("p.created_at", "<"),
    ProductSort.PRICE_ASC: ("p.price", ">"),
    ProductSort.PRICE_DESC: ("p.price", "<"),
    ProductSort.NAME: ("p.name_key", ">"),
}


@dataclass(frozen=True)
class FindSql:
    page: str
    count: str
    # ``params`` are the filters' (all the count takes); the page adds ``page_extra`` (a
    # cursor's key), then LIMIT and OFFSET as the last two.
    params: list[Any]
    page_extra: tuple[Any, ...] = ()
    sort: ProductSort = ProductSort.NEWEST

    def page_params(self, *, limit: int, offset: int) -> list[Any]:
        return [*self.params, *self.page_extra, limit, offset]


def encode_key(sort: ProductSort, value: Any, seq: int) -> Key:
    """The cursor key of a row: its sort value as a JSON scalar, then its ``seq``."""
    if sort is ProductSort.NEWEST:
        assert isinstance(value, datetime)
        return (value.isoformat(), seq)
    if sort in (ProductSort.PRICE_ASC, ProductSort.PRICE_DESC):
        return (to_cents(value), seq)
    if sort is ProductSort.RELEVANCE:
        return (float(value), seq)
    return (str(value), seq)


_REAL_MAX = 3.4028234663852886e38  # a ts_rank is a real: a key beyond it is none of ours


def _seq(value: object) -> int:
    """A ``seq`` (bigint identity, from 1) read back from a key."""
    if not isinstance(value, int) or not 0 < value < 2**63:
        raise InvalidCursor()
    return value


def _decode_key(sort: ProductSort, after: Key) -> tuple[Any, int]:
    """A key read back from a cursor, as the column's own type; InvalidCursor if not ours."""
    if sort is ProductSort.NEWEST:
        text, seq = check_key(after, str, int)
        return time_from_key(str(text)), _seq(seq)
    if sort in (ProductSort.PRICE_ASC, ProductSort.PRICE_DESC):
        cents, seq = check_key(after, int, int)
        return Decimal(int(cents)).scaleb(-2), _seq(seq)
    if sort is ProductSort.RELEVANCE:
        rank, seq = check_key(after, float, int)
        if not (math.isfinite(float(rank)) and abs(float(rank)) <= _REAL_MAX):
            raise InvalidCursor()
        return float(rank), _seq(seq)
    name_key, seq = check_key(after, str, int)
    return text_from_key(str(name_key)), _seq(seq)


def tsquery_text(terms: tuple[str, ...]) -> str:
    """A ``to_tsquery`` text of the terms: each quoted (never syntax), ANDed, the last a prefix.

    ``("wireless", "headph")`` -> ``'wireless' & 'headph':*``. The terms carry only word
    characters (see ``service.search_terms``); quotes are doubled all the same.
    """
    quoted = ["'" + term.replace("'", "''").replace("\\", "\\\\") + "'" for term in terms]
    quoted[-1] += ":*"
    return " & ".join(quoted)


def build_find(query: ProductQuery, *, after: Key | None = None) -> FindSql:
    """The page (its total first, then the product columns, the key column and ``seq``) and
    the count; with ``after``, the page starts right after the row with that key."""
    where: list[str] = []
    params: list[Any] = []

    def bind(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    searching = bool(query.search_terms)
    source = "products p"
    terms = ""
    if searching:
        # The same fold the stored vector was made with (shopkit_fold, products.SCHEMA).
        terms = bind(tsquery_text(query.search_terms))
        source = f"products p, to_tsquery('shopkit_search', shopkit_fold({terms})) q"
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
    if query.options:
        # One active variant in stock must carry every wanted value (variants.option_keys).
        where.append(
            "EXISTS (SELECT 1 FROM product_variants v WHERE v.product_id = p.id AND v.is_active "
            f"AND v.stock > 0 AND v.option_keys @> {bind(list(query.options))}::text[])"
        )
    if query.featured is not None:
        where.append(f"p.is_featured = {bind(query.featured)}")

    clause = f" WHERE {' AND '.join(where)}" if where else ""
    sort = query.sort
    if sort is ProductSort.RELEVANCE and not searching:
        sort = ProductSort.NEWEST
    n = len(params)
    extra: list[Any] = []

    def bind_extra(value: Any) -> str:
        extra.append(value)
        return f"${n + len(extra)}"

    page_where = list(where)
    if sort is ProductSort.RELEVANCE:
        order = f"{_RANK} DESC, p.seq DESC"
        key_column = _RANK
        if after is not None:
            # The rank depends on the whole catalog's words, so a rank kept in a cursor goes
            # stale with any write: compare with the last item's rank as of now (the rank in
            # the key only stands in once that item is gone). The sub-select is uncorrelated
            # (it names its own tsquery), so it runs once, by the seq index.
            rank, seq = _decode_key(sort, after)
            at = bind_extra(seq)
            reference = (
                "COALESCE((SELECT ts_rank(r.search, to_tsquery('shopkit_search', "
                f"shopkit_fold({terms}))) FROM products r WHERE r.seq = {at}), "
                f"{bind_extra(rank)}::real)"
            )
            page_where.append(
                f"({_RANK} < {reference} OR ({_RANK} = {reference} AND p.seq < {at}))"
            )
    else:
        order = _ORDER[sort]
        key_column, op = _KEYS[sort]
        if after is not None:
            value, seq = _decode_key(sort, after)
            page_where.append(
                f"({key_column}, p.seq) {op} ({bind_extra(value)}, {bind_extra(seq)})"
            )
    page_clause = f" WHERE {' AND '.join(page_where)}" if page_where else ""
    # Capped: a broad filter or search stops counting past COUNT_CAP (see capped_total).
    count = f"SELECT count(*) FROM (SELECT 1 FROM {source}{clause} LIMIT {count_limit()}) AS capped"
    m = n + len(extra)
    # The uncorrelated sub-select runs once (an InitPlan), so the total costs one count.
    page = (
        f"SELECT ({count}) AS total, {PRODUCT_COLUMNS}, {key_column}, p.seq "
        f"FROM {source}{page_clause} ORDER BY {order} LIMIT ${m + 1} OFFSET ${m + 2}"
    )
    return FindSql(page=page, count=count, params=params, page_extra=tuple(extra), sort=sort)
