"""The models the client returns (and the typed inputs some methods take)."""

from shopkit.types._base import Money, ShopkitModel
from shopkit.types.auth import AuthResult, Role, TokenPair, User
from shopkit.types.cart import Cart, CartItem, CartMerge, MergedLine
from shopkit.types.health import Health
from shopkit.types.orders import (
    Address,
    Order,
    OrderItem,
    OrderStatus,
    SavedAddress,
    StatusChange,
)
from shopkit.types.payments import PaymentIntent
from shopkit.types.products import (
    BulkFailure,
    BulkResult,
    Category,
    ImageInput,
    OptionInput,
    Product,
    ProductImage,
    ProductInput,
    ProductOption,
    ProductSort,
    SearchSort,
    Variant,
    VariantInput,
    VariantPatchInput,
)
from shopkit.types.webhooks import Webhook, WebhookDelivery, WebhookEvent, WebhookWithSecret

__all__ = [
    "Address",
    "AuthResult",
    "BulkFailure",
    "BulkResult",
    "Cart",
    "CartItem",
    "CartMerge",
    "Category",
    "Health",
    "ImageInput",
    "MergedLine",
    "Money",
    "OptionInput",
    "Order",
    "OrderItem",
    "OrderStatus",
    "PaymentIntent",
    "Product",
    "ProductImage",
    "ProductInput",
    "ProductOption",
    "ProductSort",
    "Role",
    "SavedAddress",
    "SearchSort",
    "ShopkitModel",
    "StatusChange",
    "TokenPair",
    "User",
    "Variant",
    "VariantInput",
    "VariantPatchInput",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookWithSecret",
]
