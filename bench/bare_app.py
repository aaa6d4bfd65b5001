"""The baseline: a bare FastAPI app on the same uvicorn settings as shopkit.

``/hello`` is FastAPI's hello world; ``/page`` returns a fixed page of 20 catalog-sized products
(the same JSON size a catalog read sends, with no database and no middleware).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()

_PRODUCT: dict[str, Any] = {
    "id": "6745a1b2c3d4e5f601234567",
    "sku": "AUD-0001",
    "name": "Wireless Headphones",
    "description": "Over-ear wireless headphones with active noise cancelling and 30 h battery.",
    "price": 99.99,
    "category": "Audio",
    "tags": ["audio", "wireless", "bluetooth"],
    "image_url": "https://images.example.com/products/aud-0001.jpg",
    "stock": 50,
    "is_active": True,
    "is_featured": True,
    "created_at": "2026-11-26T07:00:00.000000+00:00",
    "updated_at": "2026-11-26T07:00:00.000000+00:00",
}
_PAGE = {"items": [_PRODUCT] * 20, "total": 500, "page": 1, "page_size": 20, "has_next": True}


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"message": "Hello World"}


@app.get("/product")
async def product() -> dict[str, Any]:
    return _PRODUCT


@app.get("/page")
async def page() -> dict[str, Any]:
    return _PAGE
