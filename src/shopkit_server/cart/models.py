"""Domain records of the cart service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from shopkit_server.money import ZERO

# The most units of one product a cart line may hold (API.md, Cart service).
MAX_LINE_QUANTITY = 99
# The most distinct products a cart may hold: every checkout reads, reserves and orders them
# all in one go, so it must stay well inside what one request between services may carry.
MAX_CART_LINES = 100
# A checkout's claim on a cart lasts this long; an attempt that died holding it (a crashed
# process) blocks checkout of that cart no longer than this.
CHECKOUT_CLAIM_LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class CartItem:
    """One line: one variant of a product. ``name``, ``price`` and ``image_url`` are the
    catalog's values when last seen; ``sku`` and ``option_values`` are the variant's (filled in
    from the catalog when the cart is priced)."""

    product_id: str
    name: str
    price: Decimal
    quantity: int
    image_url: str | None = None
    variant_id: str | None = None  # None only on a line stored before variants (Mongo)
    sku: str | None = None
    option_values: dict[str, str] = field(default_factory=dict)
    # False when the catalog no longer sells the product or has fewer units than the line holds;
    # checkout would refuse such a line, so clients can flag it before the customer pays.
    available: bool = True

    @property
    def item_total(self) -> Decimal:
        return self.price * self.quantity


@dataclass(frozen=True)
class Cart:
    """A user's cart; a user who never added anything has an empty one."""

    items: list[CartItem] = field(default_factory=list)
    updated_at: datetime | None = None

    @property
    def total_items(self) -> int:
        return sum(item.quantity for item in self.items)

    @property
    def subtotal(self) -> Decimal:
        return sum((item.item_total for item in self.items), ZERO)

    def line(self, item_id: str) -> CartItem | None:
        """The line of variant ``item_id``, or the only line of product ``item_id``."""
        found = next((item for item in self.items if item.variant_id == item_id), None)
        if found is not None:
            return found
        of_product = [item for item in self.items if item.product_id == item_id]
        return of_product[0] if len(of_product) == 1 else None


class CartLinesExceeded(Exception):
    """Raised by a repository when an add would give the cart a line beyond ``max_lines``."""


class LineLimitExceeded(Exception):
    """Raised by a repository when an add would push a line past the quantity it was allowed."""

    def __init__(self, current_quantity: int) -> None:
        self.current_quantity = current_quantity
        super().__init__(f"the line already holds {current_quantity}")
