"""Storage interface of the order service (implemented in shopkit_server.store.*)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shopkit_server.orders.models import IdempotencyRecord, Order, OrderStatus
from shopkit_server.pagination import Key, PageResult


class OrderRepository(Protocol):
    """Orders and the Idempotency-Keys of checkouts."""

    async def add(self, order: Order) -> None:
        """Store a new order. Raises ``store.base.DuplicateKeyError`` if its id exists."""
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
        self, order_id: str, *, expected: OrderStatus, new: OrderStatus, at: datetime
    ) -> Order | None:
        """Compare-and-set: move to ``new`` (appending to the history) only if the status is
        still ``expected``. ``None`` when it was not (someone else moved it first)."""
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
