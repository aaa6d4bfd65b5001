"""Storage interface of the order service (implemented in shopkit_server.store.*)."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from shopkit_server.orders.models import (
    IdempotencyRecord,
    Order,
    OrderStatus,
    OutboxEvent,
    PaymentStatus,
)
from shopkit_server.pagination import Key, PageResult
from shopkit_server.products.models import Product, StockLine, Variant


class OrderRepository(Protocol):
    """Orders and the Idempotency-Keys of checkouts."""

    async def add(self, order: Order, events: Sequence[OutboxEvent] = ()) -> None:
        """Store a new order and ``events`` in the outbox, together or not at all. Raises
        ``store.base.DuplicateKeyError`` if its id exists."""
        ...

    async def get(self, order_id: str) -> Order | None:
        """The order, or ``None`` (also for a malformed id)."""
        ...

    async def list(
        self,
        *,
        user_id: str | None,
        status: OrderStatus | None,
        offset: int,
        limit: int,
        after: Key | None = None,
    ) -> PageResult[Order]:
        """Orders newest first (``created_at`` then ``id``, both descending); ``user_id=None``
        means everyone's. ``next_key``/``after`` as in ``ProductRepository.find``: the key is
        the last order's ``(created_at, id)`` as the store keeps them."""
        ...

    async def transition(
        self,
        order_id: str,
        *,
        expected: OrderStatus,
        new: OrderStatus,
        at: datetime,
        expected_payment: PaymentStatus | None = None,
        payment: PaymentStatus | None = None,
        events: Sequence[OutboxEvent] = (),
        applied_event: str | None = None,
    ) -> Order | None:
        """Compare-and-set: move to ``new`` (and the payment status to ``payment``, when given),
        appending one entry to the history and ``events`` to the outbox in the same write,
        only if the status is still ``expected`` (and the payment status ``expected_payment``,
        when given). ``None`` when it was not (someone else moved it first).

        ``applied_event`` (a payment provider's event id) is recorded in the same write; if it
        was recorded before, nothing is written and ``DuplicateKeyError("event")`` is raised.
        """
        ...

    async def set_payment_intent(self, order_id: str, intent_id: str) -> None:
        """Remember the provider's payment id of the order (the same id every time)."""
        ...

    async def payment_due(
        self,
        *,
        status: OrderStatus,
        payment: Sequence[PaymentStatus],
        created_before: datetime,
        limit: int,
        exclude_method: str | None = None,
    ) -> builtins.list[Order]:
        """Oldest first: orders in ``status`` whose payment status is one of ``payment``,
        created before ``created_before`` (the payment sweeper: unpaid orders past their time,
        cancelled orders still to refund)."""
        ...

    async def claim_idempotency_key(self, record: IdempotencyRecord) -> IdempotencyRecord:
        """Store ``record`` unless the user already holds a live record for that key; return
        whichever record is stored now. Records older than the key TTL count as gone."""
        ...

    async def get_idempotency_key(self, user_id: str, key: str) -> IdempotencyRecord | None:
        """The live record for the user's key, or ``None`` (never stored, freed or expired)."""
        ...

    async def renew_idempotency_key(self, record: IdempotencyRecord, claimed_at: datetime) -> bool:
        """Take over a stale claim: set ``claimed_at`` only if the stored one still equals
        ``record.claimed_at``. True when this caller won."""
        ...

    async def release_idempotency_key(self, user_id: str, key: str, order_id: str) -> None:
        """Forget the key if it still stands for ``order_id`` (a failed attempt frees it)."""
        ...

    async def sweep_idempotency_keys(self, before: datetime) -> int:
        """Delete every key record created before ``before`` (an indexed delete, run now and
        then by the app, never by a claim); how many went."""
        ...


@dataclass(frozen=True)
class CatalogEntry:
    """What pricing an order needs of one variant (of its product), as the store holds it
    right now: ``price`` and ``image_url`` are the variant's own or else the product's,
    ``stock`` the variant's, ``is_active`` whether product and variant are both sold."""

    product_id: str
    name: str
    price: Decimal
    stock: int
    is_active: bool
    variant_id: str | None = None
    sku: str | None = None
    option_values: dict[str, str] = field(default_factory=dict)
    image_url: str | None = None

    @classmethod
    def of(cls, product: Product, variant: Variant) -> CatalogEntry:
        return cls(
            product_id=product.id,
            name=product.name,
            price=product.price_of(variant),
            stock=variant.stock,
            is_active=product.is_active and variant.is_active,
            variant_id=variant.id,
            sku=variant.sku,
            option_values=dict(variant.option_values),
            image_url=product.image_of(variant),
        )


def line_key(line: StockLine) -> str:
    """What a cart line is priced by: its variant (its product for a line from before)."""
    return line.variant_id or line.product_id


def entries_for(
    lines: Sequence[StockLine], products: Mapping[str, Product]
) -> dict[str, CatalogEntry]:
    """The catalog entries of cart lines from the products they name (by ``line_key``): a
    line without a variant id takes its product's only variant; unknown ones have none."""
    entries: dict[str, CatalogEntry] = {}
    for line in lines:
        product = products.get(line.product_id)
        if product is None:
            continue
        if line.variant_id is None:
            variant = product.default_variant
        else:
            variant = product.variant(line.variant_id)
        if variant is not None:
            entries[line_key(line)] = CatalogEntry.of(product, variant)
    return entries


# Prices the cart's lines (product id, quantity, variant id; in the cart's order) with the
# catalog entries found for them, keyed by ``line_key`` (a missing variant has none), into the
# order to store. Pure and synchronous, so a store may call it inside its transaction (on
# SQLite, on the writer's thread); it raises the checkout's own errors (``CartEmpty``,
# ``ProductNotFound``, ``InsufficientStock``...), which roll the transaction back.
PriceOrder = Callable[[Sequence[StockLine], Mapping[str, CatalogEntry]], Order]


@dataclass(frozen=True)
class Placement:
    """One checkout for :meth:`CheckoutStore.place_order`."""

    user_id: str
    order_id: str  # also the stock reservation id and the cart's checkout id
    key: IdempotencyRecord | None  # the Idempotency-Key to hold for ``order_id``, if any
    cart_stale_before: datetime  # another checkout's cart claim older than this is dead
    price: PriceOrder


class CheckoutStore(Protocol):
    """Placing an order as ONE store operation, where cart, catalog and orders share a store.

    In one transaction: hold the Idempotency-Key (if any) for ``order_id``, check no other live
    checkout holds the cart, read the cart and its products, price the order, reserve its stock
    for every line or none (the reservation id is the order id: a reservation already held under
    it with the same lines is reused, never taken twice), store the order, take its lines out of
    the cart and drop any claim. Anything raised leaves all of it untouched.
    """

    async def place_order(self, placement: Placement) -> Order | IdempotencyRecord:
        """The stored order; or, when the key is held for another order, that record (nothing
        written). Raises ``CheckoutInProgress`` while another checkout holds the cart, what
        ``price`` raises, ``InsufficientStock`` naming every short line, ``ReservationReleased``
        / ``ReservationMismatch`` for a spent or different reservation under ``order_id``, and
        ``DuplicateKeyError`` if ``order_id`` is stored already."""
        ...
