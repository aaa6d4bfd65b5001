"""JSON bodies shaped like the server's, for the respx-mocked tests."""

from __future__ import annotations

from typing import Any

BASE = "http://shop.test/api"
NOW = "2025-01-02T03:04:05+00:00"


def user(**over: Any) -> dict[str, Any]:
    return {
        "id": "u1",
        "email": "ada@example.com",
        "name": "Ada",
        "role": "customer",
        "is_active": True,
        "created_at": NOW,
        "last_login": None,
    } | over


def tokens(n: int = 1) -> dict[str, Any]:
    return {
        "access_token": f"access-{n}",
        "refresh_token": f"refresh-{n}",
        "token_type": "bearer",
        "expires_in": 1800,
    }


def product(pid: str = "p1", **over: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "sku": f"SKU-{pid}",
        "name": f"Product {pid}",
        "description": "",
        "price": 99.99,
        "category": "Electronics",
        "tags": ["audio"],
        "image_url": None,
        "stock": 5,
        "is_active": True,
        "is_featured": False,
        "created_at": NOW,
        "updated_at": NOW,
    } | over


def page(items: list[Any], *, total: int, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    return {
        "items": items,
        "total": total,
        "page": page,
        "page_size": page_size,
        "has_next": (page - 1) * page_size + len(items) < total,
    }


ADDRESS = {
    "full_name": "John Doe",
    "address_line1": "123 Main St",
    "city": "Karachi",
    "postal_code": "75500",
    "country": "PK",
    "phone": "+92 300 1234567",
}


def order(oid: str = "o1", **over: Any) -> dict[str, Any]:
    return {
        "id": oid,
        "user_id": "u1",
        "items": [
            {
                "product_id": "p1",
                "name": "Headphones",
                "price": 99.99,
                "quantity": 2,
                "item_total": 199.98,
            }
        ],
        "subtotal": 199.98,
        "shipping_cost": 0.0,
        "tax": 10.0,
        "total": 209.98,
        "shipping_address": ADDRESS,
        "status": "pending",
        "status_history": [{"status": "pending", "at": NOW}],
        "created_at": NOW,
        "updated_at": NOW,
    } | over
