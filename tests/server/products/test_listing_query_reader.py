"""The listing's one-pass query reader answers exactly as FastAPI's parameters do.

An anonymous ``GET /products`` or ``/products/featured`` with a query string is read by
``products.router._listing_args`` instead of FastAPI's dependency solving; whatever it does not
read as plainly valid goes to FastAPI. Each query below is sent twice, anonymously (the reader)
and with a customer's token (which always goes through FastAPI, and sees what anyone sees):
same status, same bytes, same error ``code``. Every query here is one the read cache keeps
apart from the other (the second carries an extra, unread parameter).
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import UserSession
from tests.server.products.conftest import Catalog

VALID = [
    "category=Audio",
    "category=audio&sort=price_asc",
    "category=Electronics&page=2&page_size=3",
    "category=%20Audio%20",
    "category=",
    "min_price=20&max_price=100",
    "min_price=19.5",
    "tags=audio&tags=wireless",
    "tags=audio,wireless",
    "in_stock=true&sort=name",
    "in_stock=false",
    "featured=true",
    "featured=false&include_inactive=false",
    "page_size=100&sort=price_desc",
    "category=Nowhere",
    "option=Size:M",
    "unknown=1&category=Audio",
]
# Valid, but spelled in a way the reader leaves to FastAPI.
LEFT_TO_FASTAPI = ["page=007", "page=1&page=2", "sort=name&sort=newest"]
INVALID = [
    "page=0",
    "page=abc",
    "page_size=101",
    "min_price=abc",
    "min_price=-1",
    "min_price=1.234",
    "min_price=50&max_price=10",
    "in_stock=1",
    "featured=yes",
    "sort=cheapest",
    "cursor=",
    "cursor=not-a-cursor",
    "option=nocolon",
    "option=a:1&option=b:2&option=c:3&option=d:4",
    "tags=" + ",".join(f"t{i}" for i in range(11)),
    "category=" + "x" * 101,
    "include_inactive=maybe",
]


async def _both(
    client: httpx.AsyncClient, customer: UserSession, url: str
) -> tuple[httpx.Response, httpx.Response]:
    # Another spelling for the second one (a name nobody reads), so the read cache cannot
    # answer it with the first one's reply.
    return await client.get(url), await customer.client.get(f"{url}&not_a_parameter=1")


@pytest.mark.parametrize("path", ["/products", "/products/featured"])
@pytest.mark.parametrize("query", VALID)
async def test_a_valid_query_is_read_without_dependency_solving_and_answers_the_same(
    client: httpx.AsyncClient,
    customer: UserSession,
    catalog: Catalog,
    solved: list[int],
    path: str,
    query: str,
) -> None:
    quick, full = await _both(client, customer, f"{path}?{query}")
    assert solved == [1]  # the quick read solved nothing; only the FastAPI request did
    assert quick.status_code == full.status_code == 200
    assert quick.content == full.content
    assert quick.headers["content-type"] == full.headers["content-type"]


@pytest.mark.parametrize("query", LEFT_TO_FASTAPI)
async def test_what_the_reader_leaves_to_fastapi_is_answered_by_it(
    client: httpx.AsyncClient,
    customer: UserSession,
    catalog: Catalog,
    solved: list[int],
    query: str,
) -> None:
    quick, full = await _both(client, customer, f"/products?{query}")
    assert solved == [1, 1]
    assert quick.status_code == full.status_code == 200
    assert quick.content == full.content


@pytest.mark.parametrize("query", INVALID)
async def test_bad_input_keeps_fastapis_answer_and_code(
    client: httpx.AsyncClient, customer: UserSession, catalog: Catalog, query: str
) -> None:
    quick, full = await _both(client, customer, f"/products?{query}")
    assert 400 <= quick.status_code < 500
    assert quick.status_code == full.status_code
    assert quick.json() == full.json()
    assert quick.json()["code"]


async def test_a_cursor_page_is_the_same_either_way(
    client: httpx.AsyncClient, customer: UserSession, catalog: Catalog
) -> None:
    first = (await client.get("/products?page_size=3&sort=price_asc")).json()
    assert first["next_cursor"]
    quick, full = await _both(
        client, customer, f"/products?page_size=3&sort=price_asc&cursor={first['next_cursor']}"
    )
    assert quick.status_code == 200
    assert quick.content == full.content
    assert quick.json()["page"] is None


async def test_include_inactive_true_is_still_checked(
    client: httpx.AsyncClient, customer: UserSession, admin: UserSession, catalog: Catalog
) -> None:
    url = "/products?include_inactive=true&category=Audio"
    anonymous, customers, admins = (
        await client.get(url),
        await customer.client.get(url),
        await admin.client.get(url),
    )
    assert (anonymous.status_code, customers.status_code, admins.status_code) == (401, 403, 200)
    assert anonymous.json()["code"] and customers.json()["code"]
    assert admins.json()["total"] == 4  # Old Radio (inactive) too
