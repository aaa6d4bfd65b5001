"""The visible marker of whether the suite ran against a real MongoDB server."""

from __future__ import annotations

import pytest

from tests.conftest import MONGODB_URI


@pytest.mark.skipif(
    not MONGODB_URI,
    reason="real MongoDB not configured: set SHOPKIT_TEST_MONGODB_URI to run every store-backed "
    "test against a server as well (only the mongomock stand-in ran)",
)
async def test_real_mongodb_server_answers() -> None:
    from pymongo import AsyncMongoClient

    assert MONGODB_URI
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        MONGODB_URI, serverSelectionTimeoutMS=5000
    )
    try:
        reply = await client.admin.command("ping")
        assert reply["ok"] == 1
    finally:
        await client.close()
