"""Storage interface of the order service."""

from typing import Protocol


class OrderRepository(Protocol):
    """Orders and idempotency keys."""
