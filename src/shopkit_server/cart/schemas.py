"""Request and response bodies of the cart service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shopkit_server.cart.models import MAX_CART_LINES, MAX_LINE_QUANTITY, Cart
from shopkit_server.money import Money


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddItemRequest(_Strict):
    product_id: Annotated[str, Field(min_length=1, max_length=64)]
    variant_id: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=64,
            description="The variant; may be left out only for a product with one variant",
        ),
    ] = None
    quantity: Annotated[int, Field(ge=1, le=MAX_LINE_QUANTITY)] = 1


class SetQuantityRequest(_Strict):
    quantity: Annotated[int, Field(ge=0, le=MAX_LINE_QUANTITY, description="0 removes the line")]


class OrderedLine(_Strict):
    product_id: Annotated[str, Field(min_length=1, max_length=64)]
    variant_id: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    quantity: Annotated[int, Field(ge=1, le=MAX_LINE_QUANTITY)]


class FinishCheckoutRequest(_Strict):
    items: Annotated[list[OrderedLine], Field(max_length=MAX_CART_LINES)]


class CartItemOut(BaseModel):
    product_id: str
    variant_id: str | None = Field(description="The variant this line holds")
    sku: str | None
    option_values: dict[str, str]
    name: str
    price: Money
    quantity: int
    item_total: Money
    image_url: str | None
    available: bool = Field(
        description="False when the product is no longer sold or has fewer units in stock "
        "than this line holds; checkout would refuse the line."
    )


class CartOut(BaseModel):
    items: list[CartItemOut]
    total_items: int
    subtotal: Money
    updated_at: datetime | None

    @classmethod
    def of(cls, cart: Cart) -> CartOut:
        return cls(
            items=[
                CartItemOut(
                    product_id=item.product_id,
                    variant_id=item.variant_id,
                    sku=item.sku,
                    option_values=item.option_values,
                    name=item.name,
                    price=item.price,
                    quantity=item.quantity,
                    item_total=item.item_total,
                    image_url=item.image_url,
                    available=item.available,
                )
                for item in cart.items
            ],
            total_items=cart.total_items,
            subtotal=cart.subtotal,
            updated_at=cart.updated_at,
        )
