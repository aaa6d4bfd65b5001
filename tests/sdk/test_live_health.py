"""``health()`` against the real app."""

from __future__ import annotations

import pytest

from shopkit import AsyncShopClient

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def test_health(anon: AsyncShopClient) -> None:
    health = await anon.health()
    assert health.ok
    assert (health.status, health.service, health.database) == ("ok", "shopkit", "ok")
    assert health.version
