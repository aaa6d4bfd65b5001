"""The product service over HTTP, for a cart (or order) service running apart from it.

Answers are mapped back to what :class:`~shopkit_server.cart.clients.InProcessProductsClient`
would raise: anything unexpected (a 500, a body that is not a product) is
``UpstreamUnavailable`` (503), never a 500 and never the peer's own text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from shopkit_server.ids import is_valid_id
from shopkit_server.money import quantize
from shopkit_server.products.models import Product, ProductImage, ProductOption, Variant
from shopkit_server.upstream import PeerReply, ServiceToken, Upstream

# Ids per lookup call; the product service accepts up to 500.
LOOKUP_CHUNK = 200


class _OptionWire(BaseModel):
    name: str
    values: list[str]


class _ImageWire(BaseModel):
    url: str
    alt: str


class _VariantWire(BaseModel):
    id: str
    sku: str | None
    option_values: dict[str, str]
    price: Decimal | None
    stock: int
    is_active: bool
    image_url: str | None


class _ProductWire(BaseModel):
    """A product as the product service sends it (``ProductOut``)."""

    id: str
    sku: str | None
    name: str
    description: str
    price: Decimal
    category: str
    tags: list[str]
    image_url: str | None
    stock: int
    is_active: bool
    is_featured: bool
    created_at: datetime
    updated_at: datetime
    base_price: Decimal
    options: list[_OptionWire]
    variants: list[_VariantWire]
    images: list[_ImageWire]


def product_from_wire(upstream: Upstream, reply: PeerReply, raw: Any) -> Product:
    try:
        wire = _ProductWire.model_validate(raw)
    except ValidationError:
        raise upstream.unexpected(reply) from None
    fields = wire.model_dump(exclude={"options", "variants", "images"})
    fields["price"] = quantize(wire.price)
    fields["base_price"] = quantize(wire.base_price)
    return Product(
        **fields,
        options=[ProductOption(o.name, list(o.values)) for o in wire.options],
        variants=[
            Variant(
                id=v.id,
                sku=v.sku,
                option_values=dict(v.option_values),
                stock=v.stock,
                is_active=v.is_active,
                price=None if v.price is None else quantize(v.price),
                image_url=v.image_url,
            )
            for v in wire.variants
        ],
        images=[ProductImage(i.url, i.alt) for i in wire.images],
    )


class HttpProductsClient:
    """Reads products from the product service, in batches via ``/internal``."""

    def __init__(self, upstream: Upstream, token: ServiceToken) -> None:
        self._upstream = upstream
        self._token = token

    async def get_products(self, product_ids: Sequence[str]) -> dict[str, Product]:
        wanted = list(dict.fromkeys(pid for pid in product_ids if is_valid_id(pid)))
        found: dict[str, Product] = {}
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            found.update(await self._lookup(wanted[start : start + LOOKUP_CHUNK]))
        return found

    async def _lookup(self, ids: list[str]) -> dict[str, Product]:
        reply = await self._upstream.request(
            "POST",
            "/internal/products/lookup",
            idempotent=True,  # a read, though it is a POST (the ids go in the body)
            json={"ids": ids},
            headers=self._token.header(),
        )
        if reply.status_code != 200:
            raise self._upstream.unexpected(reply)
        body = self._upstream.json(reply)
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise self._upstream.unexpected(reply)
        products = [product_from_wire(self._upstream, reply, raw) for raw in items]
        return {product.id: product for product in products if product.id in ids}
