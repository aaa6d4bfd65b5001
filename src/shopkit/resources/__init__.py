"""One class per noun of the API; reach them through the client (``client.products``)."""

from shopkit.resources.addresses import AsyncAddresses
from shopkit.resources.auth import AsyncAuth
from shopkit.resources.cart import AsyncCart
from shopkit.resources.categories import AsyncCategories
from shopkit.resources.orders import AsyncOrders
from shopkit.resources.payments import AsyncPayments
from shopkit.resources.products import AsyncProducts
from shopkit.resources.users import AsyncUsers
from shopkit.resources.webhooks import AsyncWebhooks

__all__ = [
    "AsyncAddresses",
    "AsyncAuth",
    "AsyncCart",
    "AsyncCategories",
    "AsyncOrders",
    "AsyncPayments",
    "AsyncProducts",
    "AsyncUsers",
    "AsyncWebhooks",
]
