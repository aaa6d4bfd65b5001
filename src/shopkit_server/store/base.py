"""The store: one object holding every repository of one backend."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from shopkit_server.auth.repository import (
    AccountTokenRepository,
    AddressRepository,
    RefreshTokenRepository,
    UserRepository,
)
from shopkit_server.cart.repository import CartRepository, GuestCartRepository
from shopkit_server.orders.repository import CheckoutStore, OrderRepository
from shopkit_server.products.repository import CategoryRepository, ProductRepository
from shopkit_server.webhooks.repository import WebhookRepository


@dataclass
class Store:
    backend: str  # "sqlite", "postgres" or "mongodb"
    users: UserRepository
    refresh_tokens: RefreshTokenRepository
    products: ProductRepository
    categories: CategoryRepository
    carts: CartRepository
    orders: OrderRepository
    webhooks: WebhookRepository  # endpoints, the event outbox's fan-out, deliveries
    account_tokens: AccountTokenRepository
    addresses: AddressRepository
    guest_carts: GuestCartRepository
    ping: Callable[[], Awaitable[None]]  # raises when the database does not answer
    close: Callable[[], Awaitable[None]]
    # Placing an order in one store operation (``CheckoutStore``); None where the backend has
    # no multi-document transaction (the order service then compensates step by step).
    checkout: CheckoutStore | None = None


class DuplicateKeyError(Exception):
    """A unique constraint refused a write; ``field`` names it when the backend can tell."""

    def __init__(self, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"duplicate value for {field or 'a unique field'}")


class StoreUnreachable(Exception):
    """The database could not be reached or dropped the connection mid-request (try again).

    Raised by client/server backends (PostgreSQL); the app answers 503 ``store_unavailable``.
    Nothing was committed unless the connection was lost while committing.
    """
