"""PostgreSQL reads a cursor's key back into its columns' types, and a key it could not have
made is ``InvalidCursor`` (a 400), never a driver error (a 500): out-of-range numbers, times at
the ends of the calendar, text with a NUL."""

from __future__ import annotations

import pytest

from shopkit_server.errors import InvalidCursor
from shopkit_server.pagination import Key
from shopkit_server.products.models import ProductQuery, ProductSort
from shopkit_server.store import Store

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)

BAD_PRODUCT_KEYS: list[tuple[ProductSort, Key]] = [
    (ProductSort.NEWEST, ("2026-05-01T09:30:00", 1)),  # no offset
    (ProductSort.NEWEST, ("0001-01-01T00:00:00+05:00", 1)),  # before year 1 in UTC
    (ProductSort.NEWEST, ("yesterday", 1)),
    (ProductSort.NEWEST, ("2026-05-01T09:30:00+00:00", 2**63)),  # past bigint
    (ProductSort.NEWEST, ("2026-05-01T09:30:00+00:00", 0)),
    (ProductSort.PRICE_ASC, ("19.99", 1)),
    (ProductSort.PRICE_DESC, (1999, -1)),
    (ProductSort.NAME, ("lamp\x00", 1)),
    (ProductSort.NAME, (7, 1)),
]


@pytest.mark.parametrize(("sort", "key"), BAD_PRODUCT_KEYS, ids=repr)
async def test_a_key_the_store_did_not_make_is_invalid(
    store: Store, sort: ProductSort, key: Key
) -> None:
    with pytest.raises(InvalidCursor):
        await store.products.find(ProductQuery(sort=sort), offset=0, limit=20, after=key)


@pytest.mark.parametrize("key", [(1e39, 1), (float("inf"), 1), ("0.5", 1), (0.5, 2**64)], ids=repr)
async def test_a_search_key_the_store_did_not_make_is_invalid(store: Store, key: Key) -> None:
    query = ProductQuery(search_terms=("lamp",), sort=ProductSort.RELEVANCE)
    with pytest.raises(InvalidCursor):
        await store.products.find(query, offset=0, limit=20, after=key)


@pytest.mark.parametrize(
    "key",
    [("2026-05-01T09:30:00", "x"), ("2026-05-01T09:30:00+00:00", "x\x00"), ("x", 1)],
    ids=repr,
)
async def test_an_order_key_the_store_did_not_make_is_invalid(store: Store, key: Key) -> None:
    with pytest.raises(InvalidCursor):
        await store.orders.list(user_id=None, status=None, offset=0, limit=20, after=key)


async def test_keys_it_made_resume_every_sort(store: Store) -> None:
    """Good keys go through: each sort's first key resumes (on an empty store, no rows)."""
    for sort, key in [
        (ProductSort.NEWEST, ("2026-05-01T09:30:00.123456+00:00", 5)),
        (ProductSort.PRICE_ASC, (1999, 5)),
        (ProductSort.NAME, ("lamp", 5)),
    ]:
        page = await store.products.find(ProductQuery(sort=sort), offset=0, limit=20, after=key)
        assert page.items == [] and page.total == 0 and page.next_key is None
