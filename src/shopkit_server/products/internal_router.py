"""Service-to-service routes of the product service, under ``/internal`` (never ``/api``).

Only a peer service's token is accepted (``ServiceCaller``: a user's access token is a 401),
the gateway never routes ``/internal/``, and the routes stay out of the public OpenAPI schema.
The order service reserves and releases stock here (a checkout reserves and reads its
products in one round trip), and the cart and order services read several products in one
round trip (no N+1 over the network).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from shopkit_server.deps import Context, ServiceCaller
from shopkit_server.products.errors import InsufficientStock
from shopkit_server.products.models import Product, StockLine
from shopkit_server.products.schemas import ProductOut
from shopkit_server.routing import ShopRouter

MAX_LOOKUP_IDS = 500
MAX_RESERVATION_LINES = 500

router = ShopRouter(prefix="/internal", tags=["internal"], include_in_schema=False)

ReservationId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LookupRequest(_Strict):
    ids: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=MAX_LOOKUP_IDS)]


class LookupResponse(BaseModel):
    items: list[ProductOut]


class StockLineIn(_Strict):
    product_id: Annotated[str, Field(min_length=1, max_length=64)]
    # The variant; left out, the product's only variant (a caller from before variants).
    variant_id: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    quantity: Annotated[int, Field(strict=True, ge=1, le=1_000_000)]


class ReserveRequest(_Strict):
    reservation_id: ReservationId
    lines: Annotated[list[StockLineIn], Field(min_length=1, max_length=MAX_RESERVATION_LINES)]
    # Checkout's one round trip: read the lines' products first and answer them (200) with
    # whether the stock was reserved; a missing or inactive product reserves nothing.
    read_products: bool = False


def _sold(product: Product | None, variant_id: str | None) -> bool:
    """Whether the line's product and variant are both sold (a reservation may take them)."""
    if product is None or not product.is_active:
        return False
    variant = product.default_variant if variant_id is None else product.variant(variant_id)
    return variant is not None and variant.is_active


@router.post("/products/lookup", response_model=LookupResponse)
async def lookup_products(body: LookupRequest, ctx: Context, _: ServiceCaller) -> LookupResponse:
    """Products by id, inactive ones included (callers check); unknown ids are left out."""
    found = await ctx.products.get_products(body.ids)
    return LookupResponse(items=[ProductOut.model_validate(p) for p in found.values()])


@router.post("/stock/reservations", status_code=status.HTTP_204_NO_CONTENT, response_model=None)
async def reserve_stock(body: ReserveRequest, ctx: Context, _: ServiceCaller) -> Response:
    """Take every line from stock or none; repeating the same reservation takes nothing twice."""
    lines = [StockLine(line.product_id, line.quantity, line.variant_id) for line in body.lines]
    items: list[dict[str, object]] = []
    if body.read_products:
        found = await ctx.products.get_products([line.product_id for line in lines])
        items = [ProductOut.model_validate(p).model_dump(mode="json") for p in found.values()]
        if any(not _sold(found.get(x.product_id), x.variant_id) for x in lines):
            return JSONResponse({"reserved": False, "items": items})
    try:
        await ctx.products.reserve_stock(body.reservation_id, lines)
    except InsufficientStock as exc:
        # The caller rebuilds the same error, so it needs the product ids, not just the sentence.
        return JSONResponse(
            {"detail": exc.detail, "code": exc.code, "product_ids": exc.product_ids},
            status_code=exc.status_code,
        )
    if body.read_products:
        return JSONResponse({"reserved": True, "items": items})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/stock/reservations/{reservation_id}/release",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def release_stock(
    reservation_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
    ctx: Context,
    _: ServiceCaller,
) -> Response:
    """Give a reservation's stock back, exactly once; an unknown id is remembered as spent."""
    await ctx.products.release_stock(reservation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
