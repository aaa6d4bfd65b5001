"""The models the client returns (and the typed inputs some methods take)."""

from shopkit.types._base import Money, ShopkitModel
from shopkit.types.auth import AuthResult, Role, TokenPair, User
from shopkit.types.cart import Cart, CartItem
from shopkit.types.health import Health
from shopkit.types.orders import Address, Order, OrderItem, OrderStatus, StatusChange
from shopkit.types.payments import PaymentIntent
from shopkit.types.products import (
    BulkFailure,
    BulkResult,
    Category,
    Product,
    ProductInput,
    ProductSort,
    SearchSort,
)
from shopkit.types.webhooks import Webhook, WebhookDelivery, WebhookEvent, WebhookWithSecret

__all__ = [
    "Address",
    "AuthResult",
    "BulkFailure",
    "BulkResult",
    "Cart",
    "CartItem",
    "Category",
    "Health",
    "Money",
    "Order",
    "OrderItem",
    "OrderStatus",
    "PaymentIntent",
    "Product",
    "ProductInput",
    "ProductSort",
    "Role",
    "SearchSort",
    "ShopkitModel",
    "StatusChange",
    "TokenPair",
    "User",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookWithSecret",
]
