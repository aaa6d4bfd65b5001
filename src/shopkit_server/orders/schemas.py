"""Request and response bodies of the order service."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from shopkit_server.fields import Text
from shopkit_server.money import Money
from shopkit_server.orders.countries import COUNTRY_CODES
from shopkit_server.orders.models import MANUAL, Address, Order, OrderStatus, PaymentStatus

_PHONE = re.compile(r"^\+?[0-9][0-9 ().\-]{3,28}[0-9]$")


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in COUNTRY_CODES:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, such as PK, GB or US")
    return code


def _phone(value: str) -> str:
    if not _PHONE.match(value) or sum(ch.isdigit() for ch in value) < 5:
        raise ValueError("must be a phone number: digits, optionally a leading +, spaces, dashes")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddressIn(_Strict):
    full_name: Annotated[str, Text(100)]
    address_line1: Annotated[str, Text(200)]
    # Optional: "", blanks and null are all stored as null (forms send empty fields).
    address_line2: Annotated[str | None, Text(200, optional=True)] = None
    city: Annotated[str, Text(100)]
    state: Annotated[str | None, Text(100, optional=True)] = None
    postal_code: Annotated[str, Text(20)]
    country: Annotated[str, Field(max_length=8), AfterValidator(_country)]
    phone: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=30), AfterValidator(_phone)
    ]

    def to_domain(self) -> Address:
        return Address(
            full_name=self.full_name,
            address_line1=self.address_line1,
            city=self.city,
            postal_code=self.postal_code,
            country=self.country,
            phone=self.phone,
            address_line2=self.address_line2,
            state=self.state,
        )


class CheckoutRequest(_Strict):
    """Exactly one of ``shipping_address`` and ``address_id`` (a saved address's id)."""

    shipping_address: AddressIn | None = None
    address_id: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    payment_method: Annotated[
        str,
        Field(
            min_length=1,
            max_length=32,
            description="`manual` (cash on delivery, bank transfer: an admin records the "
            "payment) or a configured provider such as `stripe`",
        ),
    ] = MANUAL

    @model_validator(mode="after")
    def _one_address(self) -> CheckoutRequest:
        if (self.shipping_address is None) == (self.address_id is None):
            raise ValueError("send exactly one of shipping_address and address_id")
        return self


class StatusChangeRequest(_Strict):
    status: OrderStatus


class AddressOut(BaseModel):
    full_name: str
    address_line1: str
    address_line2: str | None
    city: str
    state: str | None
    postal_code: str
    country: str
    phone: str


class OrderItemOut(BaseModel):
    product_id: str
    variant_id: str | None  # null on orders placed before variants
    sku: str | None
    option_values: dict[str, str]
    name: str
    price: Money
    quantity: int
    item_total: Money
    image_url: str | None


class StatusChangeOut(BaseModel):
    status: OrderStatus
    payment_status: PaymentStatus
    at: datetime


class OrderOut(BaseModel):
    id: str
    user_id: str
    items: list[OrderItemOut]
    subtotal: Money
    shipping_cost: Money
    tax: Money
    total: Money
    shipping_address: AddressOut
    status: OrderStatus
    payment_method: str
    payment_status: PaymentStatus
    payment_intent_id: str | None = Field(
        description="The provider's payment id (Stripe: pi_...); null for manual orders"
    )
    status_history: list[StatusChangeOut]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, order: Order) -> Self:
        return cls(**_order_fields(order))


def _order_fields(order: Order) -> dict[str, Any]:
    """An order's fields as :class:`OrderOut` takes them."""
    address = order.shipping_address
    return dict(
        id=order.id,
        user_id=order.user_id,
        items=[
            OrderItemOut(
                product_id=item.product_id,
                variant_id=item.variant_id,
                sku=item.sku,
                option_values=item.option_values,
                name=item.name,
                price=item.price,
                quantity=item.quantity,
                item_total=item.item_total,
                image_url=item.image_url,
            )
            for item in order.items
        ],
        subtotal=order.subtotal,
        shipping_cost=order.shipping_cost,
        tax=order.tax,
        total=order.total,
        shipping_address=AddressOut(
            full_name=address.full_name,
            address_line1=address.address_line1,
            address_line2=address.address_line2,
            city=address.city,
            state=address.state,
            postal_code=address.postal_code,
            country=address.country,
            phone=address.phone,
        ),
        status=order.status,
        payment_method=order.payment_method,
        payment_status=order.payment_status,
        payment_intent_id=order.payment_intent_id,
        status_history=[
            StatusChangeOut(
                status=change.status, payment_status=change.payment_status, at=change.at
            )
            for change in order.status_history
        ],
        created_at=order.created_at,
        updated_at=order.updated_at,
    )


class CheckoutOut(OrderOut):
    client_secret: str | None = Field(
        default=None,
        description="For a provider's payment (Stripe): hand it to the provider's client SDK "
        "to pay. Null for manual orders, or if the provider did not answer (then ask "
        "`POST /orders/{id}/payment-intent`)",
    )

    @classmethod
    def of_checkout(cls, order: Order, client_secret: str | None) -> CheckoutOut:
        """The reply to a checkout: ``order`` (with its payment id) and the payment's secret."""
        return cls(**_order_fields(order), client_secret=client_secret)
