"""Storage interface of the cart service (implemented in shopkit_server.store.*)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from shopkit_server.cart.models import Cart, CartItem, GuestCart, MergedLine, MergePlanner
from shopkit_server.products.models import StockLine


class CartRepository(Protocol):
    """One cart per user. Every method is atomic on its own: no read-modify-write in callers."""

    async def get(self, user_id: str) -> Cart:
        """The stored cart, lines in the order they were first added; empty when none."""
        ...

    async def add_item(
        self,
        user_id: str,
        item: CartItem,
        *,
        max_quantity: int,
        max_lines: int,
        now: datetime,
    ) -> Cart:
        """Add ``item.quantity`` units to the line (creating line and cart as needed).

        The line's name, price and image are replaced by the item's. Raises
        :class:`~shopkit_server.cart.models.LineLimitExceeded` (writing nothing) when the line
        would then hold more than ``max_quantity``, and
        :class:`~shopkit_server.cart.models.CartLinesExceeded` when the variant is not in the
        cart yet and the cart already holds ``max_lines`` lines. Two concurrent adds both count.
        """
        ...

    async def set_quantity(
        self, user_id: str, variant_id: str, quantity: int, *, now: datetime
    ) -> Cart | None:
        """Set the quantity of the line of ``variant_id``; 0 removes it. ``None`` when the
        line is not there. (Lines are keyed by variant; ``finish_checkout`` by each line's
        ``variant_id``, or its product id for a line without one.)"""
        ...

    async def remove_item(self, user_id: str, variant_id: str, *, now: datetime) -> Cart:
        """Remove a line if present (a missing line is not an error)."""
        ...

    async def clear(self, user_id: str) -> None:
        """Empty the cart."""
        ...

    async def claim_checkout(
        self, user_id: str, checkout_id: str, *, now: datetime, stale_before: datetime
    ) -> Cart | None:
        """Claim the cart for one checkout and return its contents, in one atomic step.

        The claim succeeds when the cart is unclaimed, already claimed by ``checkout_id`` (a
        retry of the same checkout), or claimed before ``stale_before`` (a dead attempt).
        ``None`` when another live checkout holds it. A user without a cart gets an empty one.
        Adding to or editing the cart stays allowed while it is claimed.
        """
        ...

    async def finish_checkout(
        self, user_id: str, checkout_id: str, lines: Sequence[StockLine], *, now: datetime
    ) -> None:
        """Take what the order took out of the cart and drop the claim, in one atomic step.

        Each line's quantity is subtracted (a line reaching zero goes), so units added while the
        checkout ran stay. Only while ``checkout_id`` holds the claim: a retry after success
        is a no-op.
        """
        ...

    async def release_checkout(self, user_id: str, checkout_id: str) -> None:
        """Drop the claim if ``checkout_id`` holds it (a checkout that made no order)."""
        ...

    async def merge_guest(
        self, token_hash: str, user_id: str, plan: MergePlanner, *, now: datetime
    ) -> list[MergedLine] | None:
        """Merge the live guest cart with this token into ``user_id``'s cart, as one store
        operation: claim the guest cart (of concurrent merges of one token at most one gets
        it), read both carts, ``plan`` the merge from them, add the planned units to the
        account's cart and drop the guest cart's lines. ``None`` (nothing changed) when no
        live, unmerged guest cart has the token.

        A failure part way leaves nothing lost or added twice: SQLite and PostgreSQL roll the
        whole merge back (the guest cart stays as it was, unclaimed); MongoDB, without
        multi-document transactions, records the merge on the account's cart in the same
        single-document write that adds the lines, so a merge retried after
        ``MERGE_LEASE`` resumes it without adding again. Whatever ``plan`` raises undoes the
        claim and is raised here.
        """
        ...


class GuestCartRepository(Protocol):
    """Guest carts' tokens (by hash) and lifetimes; their lines live in :class:`CartRepository`
    under the guest cart's id."""

    async def add(self, guest: GuestCart) -> None: ...

    async def find(self, token_hash: str, now: datetime) -> GuestCart | None:
        """The live guest cart with this token (``None``: unknown, expired or merged)."""
        ...

    async def claim(self, token_hash: str, user_id: str, now: datetime) -> GuestCart | None:
        """Mark the live guest cart merged into ``user_id``'s cart and return it, atomically:
        of concurrent claims of one token at most one gets it."""
        ...

    async def sweep(self, now: datetime) -> int:
        """Delete expired and merged guest carts, lines included; how many went."""
        ...
