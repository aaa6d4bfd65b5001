"""Helpers for API tests that need a catalog: products are created through the admin API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

ADDRESS: dict[str, Any] = {
    "full_name": "Ayesha Khan",
    "address_line1": "12 Clifton Rd",
    "city": "Karachi",
    "postal_code": "75500",
    "country": "PK",
    "phone": "+92 300 1234567",
}


class Shop:
    """Creates and changes products as an admin."""

    def __init__(self, admin: httpx.AsyncClient) -> None:
        self.admin = admin
        self._category: str | None = None

    async def product(
        self, price: str = "10.00", *, stock: int = 100, name: str | None = None
    ) -> dict[str, Any]:
        if self._category is None:
            self._category = f"Cat {uuid.uuid4().hex[:8]}"
            reply = await self.admin.post("/categories", json={"name": self._category})
            assert reply.status_code == 201, reply.text
        reply = await self.admin.post(
            "/products",
            json={
                "name": name or f"Product {uuid.uuid4().hex[:6]}",
                "description": "A thing to buy.",
                "price": price,
                "category": self._category,
                "stock": stock,
            },
        )
        assert reply.status_code == 201, reply.text
        body: dict[str, Any] = reply.json()
        return body

    async def update(self, product_id: str, **changes: Any) -> dict[str, Any]:
        reply = await self.admin.patch(f"/products/{product_id}", json=changes)
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body

    async def delete(self, product_id: str) -> None:
        """Retire a product (a soft delete: it stays, inactive)."""
        reply = await self.admin.delete(f"/products/{product_id}")
        assert reply.status_code == 204, reply.text

    async def stock(self, product_id: str) -> int:
        reply = await self.admin.get(f"/products/{product_id}", params={"include_inactive": "true"})
        assert reply.status_code == 200, reply.text
        return int(reply.json()["stock"])


async def add(client: httpx.AsyncClient, product_id: str, quantity: int = 1) -> httpx.Response:
    return await client.post("/cart/items", json={"product_id": product_id, "quantity": quantity})


async def checkout(
    client: httpx.AsyncClient, *, key: str | None = None, address: dict[str, Any] | None = None
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return await client.post(
        "/orders", json={"shipping_address": address or ADDRESS}, headers=headers
    )
