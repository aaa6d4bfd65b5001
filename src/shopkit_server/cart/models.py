"""Domain records of the cart service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from shopkit_server.money import ZERO

# The most units of one product a cart line may hold (API.md, Cart service).
MAX_LINE_QUANTITY = 99
# The most distinct products a cart may hold: every checkout reads, reserves and orders them
# all in one go, so it must stay well inside what one request between services may carry.
MAX_CART_LINES = 100
# A checkout's claim on a cart lasts this long; an attempt that died holding it (a crashed
# process) blocks checkout of that cart no longer than this.
CHECKOUT_CLAIM_LEASE = timedelta(seconds=60)
# A guest-cart merge claimed this long ago and not finished died part way: MongoDB lets a
# login with the same token resume it (see ``CartRepository.merge_guest``).
MERGE_LEASE = timedelta(seconds=60)


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


def line_key(item: CartItem) -> str:
    """A cart line's identity: two lines with one key are one line (merged, limited together).

    The one place that says what a line is keyed by; the guest-cart merge and the limits
    below go through it. A line is one variant (its product for a line stored before variants).
    """
    return item.variant_id or item.product_id


@dataclass(frozen=True)
class GuestCart:
    """A cart without an account, reached with a random token (only its hash is stored).

    Its lines live in the cart store under ``id`` (a fresh id, never the token and never a
    user's id). It is merged into an account's cart at most once (``merged_at``).
    """

    id: str
    token_hash: str
    created_at: datetime
    expires_at: datetime


class MergeOutcome(StrEnum):
    MERGED = "merged"
    INVALID = "invalid"  # unknown, expired or already merged token: nothing was moved
    UNAVAILABLE = "unavailable"  # the cart service did not answer; the guest cart is kept


class Shortfall(StrEnum):
    """Why a merged line got fewer units than the guest cart held."""

    STOCK = "stock"
    LINE_LIMIT = "line_limit"
    CART_LINE_LIMIT = "cart_line_limit"
    UNAVAILABLE = "unavailable"  # no longer sold


@dataclass(frozen=True)
class MergedLine:
    product_id: str
    variant_id: str | None  # None only for a line stored before variants (Mongo)
    requested: int  # units in the guest cart
    added: int  # units added to the account's cart
    shortfall: Shortfall | None = None


@dataclass(frozen=True)
class CartMerge:
    """What merging a guest cart into an account's cart did."""

    outcome: MergeOutcome
    lines: list[MergedLine] = field(default_factory=list)


@dataclass(frozen=True)
class MergePlan:
    """A guest cart's merge as planned (by :func:`merge_line`, line by line): what to report
    of each guest line, and the units to add to the account's cart (each item's quantity is
    what its line gains; name, price and image replace the line's)."""

    lines: list[MergedLine]
    adds: list[CartItem]


# Plans a merge from the guest cart and the account's cart as a store read them inside the
# merge (pure and synchronous: it runs inside the store's transaction).
MergePlanner = Callable[[Cart, Cart], MergePlan]


class UnpricedLines(Exception):
    """Raised by a merge planner for guest lines of products the catalog was not asked about;
    the store undoes the merge (nothing changed) and it is planned again with them."""

    def __init__(self, product_ids: list[str]) -> None:
        self.product_ids = product_ids
        super().__init__(f"not in the catalog read: {product_ids}")


def merge_line(
    *,
    guest: CartItem,
    current: int,
    stock: int | None,
    lines_in_cart: int,
    max_quantity: int = MAX_LINE_QUANTITY,
    max_lines: int = MAX_CART_LINES,
) -> MergedLine:
    """The merge rule for one guest line: quantities add up, capped by stock, by the per-line
    limit and, for a line the account's cart does not have yet, by the cart's line limit.

    ``current`` is what the account's line holds (0: no such line), ``stock`` the catalog's
    units (``None``: the product is no longer sold), ``lines_in_cart`` the account cart's
    lines now.
    """
    line = (guest.product_id, guest.variant_id)
    if stock is None:
        return MergedLine(*line, guest.quantity, 0, Shortfall.UNAVAILABLE)
    if current == 0 and lines_in_cart >= max_lines:
        return MergedLine(*line, guest.quantity, 0, Shortfall.CART_LINE_LIMIT)
    cap = min(max_quantity, stock)
    added = max(0, min(guest.quantity, cap - current))
    if added == guest.quantity:
        return MergedLine(*line, guest.quantity, added)
    shortfall = Shortfall.STOCK if stock < max_quantity else Shortfall.LINE_LIMIT
    return MergedLine(*line, guest.quantity, added, shortfall)
