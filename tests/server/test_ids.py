"""Ids are exactly 24 lowercase hex digits: anything else is "not found", never a 500."""

from __future__ import annotations

import httpx
import pytest

from shopkit_server.ids import is_valid_id, new_id
from tests.conftest import UserSession


@pytest.mark.parametrize(
    "value", ["0" * 24 + "\n", "0" * 24 + "\r\n", "\n" + "0" * 24, "0" * 23, "0" * 25, "G" * 24]
)
def test_only_exactly_24_hex_digits_are_ids(value: str) -> None:
    assert not is_valid_id(value)
    assert is_valid_id(new_id())


async def test_an_id_with_a_trailing_newline_is_not_found_on_every_backend(
    client: httpx.AsyncClient, admin: UserSession, customer: UserSession
) -> None:
    newline = new_id() + "%0A"  # GET /products/<id>%0A used to reach ObjectId() and answer 500

    replies = [
        await client.get(f"/products/{newline}"),
        await client.get(f"/categories/{newline}"),
        await admin.client.patch(f"/products/{newline}", json={"stock": 1}),
        await admin.client.delete(f"/categories/{newline}"),
        await customer.client.get(f"/orders/{newline}"),
        await customer.client.post(f"/orders/{newline}/cancel"),
    ]

    assert [r.status_code for r in replies] == [404] * len(replies), [r.text for r in replies]
