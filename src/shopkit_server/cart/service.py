"""Cart service logic (no HTTP, no database driver).

Prices: a cart line keeps the name, price and image the catalog had when it was last added to,
but every cart the service returns is refreshed from the catalog in one batched read, so the
customer always sees current prices (the ones checkout will charge) and lines the catalog no
longer sells are flagged ``available=False`` instead of silently vanishing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from functools import partial

from shopkit_server.cart.clients import ProductsClient
from shopkit_server.cart.errors import (
    CartItemNotFound,
    CartLineLimit,
    CartTokenInvalid,
    CheckoutInProgress,
    LineQuantityLimit,
)
from shopkit_server.cart.models import (
    CHECKOUT_CLAIM_LEASE,
    MAX_CART_LINES,
    MAX_LINE_QUANTITY,
    Cart,
    CartItem,
    CartLinesExceeded,
    CartMerge,
    GuestCart,
    LineLimitExceeded,
    MergedLine,
    MergeOutcome,
    MergePlan,
    UnpricedLines,
    line_key,
    merge_line,
)
from shopkit_server.cart.repository import CartRepository, GuestCartRepository
from shopkit_server.clock import utc_now
from shopkit_server.errors import TooManyRequests
from shopkit_server.ids import is_valid_id, new_id
from shopkit_server.products.errors import (
    InsufficientStock,
    ProductNotFound,
    VariantNotFound,
    VariantRequired,
)
from shopkit_server.products.models import Product, StockLine, Variant
from shopkit_server.security import hash_opaque_token, new_opaque_token
from shopkit_server.throttle import MemoryThrottleStore, ThrottleStore

# What the catalog said of each product asked about: None when it does not know the id.
Catalog = Mapping[str, Product | None]


# Rounds of a merge that may find guest lines added after the catalog was read.
_MERGE_ATTEMPTS = 3


class CartService:
    def __init__(
        self,
        *,
        carts: CartRepository,
        products: ProductsClient,
        guests: GuestCartRepository | None = None,
        guest_ttl: timedelta = timedelta(days=14),
        throttle: ThrottleStore | None = None,
        guest_carts_per_address: int = 30,
    ) -> None:
        self.carts = carts
        self.products = products
        self.guests = guests
        self.guest_ttl = guest_ttl
        self.throttle = throttle or MemoryThrottleStore()
        self.guest_carts_per_address = guest_carts_per_address

    async def get_cart(self, user_id: str) -> Cart:
        """The user's cart with current catalog names and prices."""
        cart = await self.carts.get(user_id)
        return _priced(cart, await self._catalog(cart))

    # Every change below asks the catalog before it writes, never after: when the product
    # service cannot be reached the answer is a 503 and nothing was changed, and a change that
    # was written is always answered with success (priced from what was read before it).

    async def add_item(
        self,
        user_id: str,
        product_id: str,
        quantity: int,
        variant_id: str | None = None,
        *,
        product: Product | None = None,
    ) -> Cart:
        """Add units of one variant; ``variant_id`` may be left out only when the product has
        a single variant (else VariantRequired). Stock and the line limit are per variant.

        ``product``: the catalog's product ``product_id`` as :meth:`check_addable` just read
        it (a guest's first add), so it is not read again."""
        if not is_valid_id(product_id):
            raise ProductNotFound()
        cart = await self.carts.get(user_id)
        if product is not None and product.id == product_id:
            catalog = {**await self._catalog(cart, known=product_id), product_id: product}
        else:
            catalog = dict(await self._catalog(cart, product_id))
        product = catalog.get(product_id)
        if product is None or not product.is_active:
            raise ProductNotFound()
        variant = _pick(product, variant_id)
        item = CartItem(
            product_id=product.id,
            name=product.name,
            price=product.price_of(variant),
            quantity=quantity,
            image_url=product.image_of(variant),
            variant_id=variant.id,
            sku=variant.sku,
            option_values=dict(variant.option_values),
        )
        # The repository checks the limits and adds in one atomic step: a concurrent add to the
        # same line (or cart) cannot slip between a read of the current state and the write.
        limit = min(MAX_LINE_QUANTITY, variant.stock)
        try:
            cart = await self.carts.add_item(
                user_id, item, max_quantity=limit, max_lines=MAX_CART_LINES, now=utc_now()
            )
        except CartLinesExceeded:
            raise CartLineLimit() from None
        except LineLimitExceeded as exc:
            if exc.current_quantity + quantity > variant.stock:
                raise InsufficientStock(
                    [product.id],
                    f"Only {variant.stock} of {_label(product, variant)} in stock; "
                    f"your cart already holds {exc.current_quantity}.",
                ) from None
            raise LineQuantityLimit() from None
        return _priced(cart, catalog)

    async def check_addable(self, product_id: str, variant_id: str | None = None) -> Product:
        """Raise what :meth:`add_item` would for a variant no cart may hold (unknown, retired
        or out of stock), without touching any cart; the product as read (pass it on to
        :meth:`add_item` so it is read once)."""
        if not is_valid_id(product_id):
            raise ProductNotFound()
        product = (await self.products.get_products([product_id])).get(product_id)
        if product is None or not product.is_active:
            raise ProductNotFound()
        variant = _pick(product, variant_id)
        if variant.stock < 1:
            raise InsufficientStock([product.id], f"{_label(product, variant)} is out of stock.")
        return product

    async def set_quantity(self, user_id: str, item_id: str, quantity: int) -> Cart:
        """Set a line's quantity; 0 removes it. The line must be in the cart; ``item_id`` is
        its variant id (or, for a product with one line, the product id)."""
        if not is_valid_id(item_id):
            raise CartItemNotFound()
        before = await self.carts.get(user_id)
        line = before.line(item_id)
        if line is None:  # 404 even with quantity 0 (docs/api.md, Cart)
            raise CartItemNotFound()
        catalog = await self._catalog(before)
        if quantity > 0:
            product = catalog.get(line.product_id)
            if product is None or not product.is_active:
                raise ProductNotFound()
            variant = _variant_of(product, line)
            if variant is None or not variant.is_active:
                raise VariantNotFound()
            if quantity > variant.stock:
                raise InsufficientStock(
                    [product.id],
                    f"Only {variant.stock} of {_label(product, variant)} in stock.",
                )
        cart = await self.carts.set_quantity(user_id, line_key(line), quantity, now=utc_now())
        if cart is None:
            raise CartItemNotFound()
        return _priced(cart, catalog)

    async def remove_item(self, user_id: str, item_id: str) -> Cart:
        """Remove a line; removing a line that is not there is not an error."""
        if not is_valid_id(item_id):
            return await self.get_cart(user_id)
        before = await self.carts.get(user_id)
        catalog = await self._catalog(before)
        line = before.line(item_id)
        if line is None:
            return _priced(before, catalog)
        return _priced(
            await self.carts.remove_item(user_id, line_key(line), now=utc_now()), catalog
        )

    async def clear(self, user_id: str) -> None:
        await self.carts.clear(user_id)

    # -- checkout -----------------------------------------------------------------------------

    async def claim_checkout(self, user_id: str, checkout_id: str) -> Cart:
        """Claim the cart for one checkout and return it as stored (checkout prices it itself).

        While a checkout holds the claim, another one is refused with
        :class:`CheckoutInProgress`, so one cart's contents become at most one order.
        """
        now = utc_now()
        cart = await self.carts.claim_checkout(
            user_id, checkout_id, now=now, stale_before=now - CHECKOUT_CLAIM_LEASE
        )
        if cart is None:
            raise CheckoutInProgress()
        return cart

    async def finish_checkout(
        self, user_id: str, checkout_id: str, lines: Sequence[StockLine]
    ) -> None:
        """Take an order's lines out of the cart (keeping anything added meanwhile) and drop
        the claim; a no-op once done, so it is safe to retry."""
        await self.carts.finish_checkout(user_id, checkout_id, lines, now=utc_now())

    async def release_checkout(self, user_id: str, checkout_id: str) -> None:
        """Drop the claim of a checkout that made no order."""
        await self.carts.release_checkout(user_id, checkout_id)

    # -- guest carts ---------------------------------------------------------------------------

    def _guest_store(self) -> GuestCartRepository:
        if self.guests is None:
            raise RuntimeError("this cart service was built without guest carts")
        return self.guests

    async def open_guest_cart(self, client: str | None) -> tuple[str, GuestCart]:
        """A new, empty guest cart and its token (the only time the token is seen).

        Throttled per client address (``SHOPKIT_GUEST_CARTS_PER_ADDRESS`` an hour): carts
        cost storage, and nothing else stops a script from opening millions.
        """
        if client is not None and self.guest_carts_per_address > 0:
            wait = await self.throttle.hit(
                f"guestcart:addr:{client}", limit=self.guest_carts_per_address, window=3600.0
            )
            if wait > 0:
                raise TooManyRequests(wait, "Too many new carts from this address; try later.")
        token, token_hash = new_opaque_token()
        now = utc_now()
        guest = GuestCart(
            id=new_id(), token_hash=token_hash, created_at=now, expires_at=now + self.guest_ttl
        )
        await self._guest_store().add(guest)
        return token, guest

    async def guest_owner(self, cart_token: str) -> str:
        """The cart-store key of the live guest cart ``cart_token`` opens."""
        guest = await self._guest_store().find(hash_opaque_token(cart_token), utc_now())
        if guest is None:
            raise CartTokenInvalid()
        return guest.id

    async def merge_guest_cart(self, user_id: str, cart_token: str) -> CartMerge:
        """Move a guest cart's lines into ``user_id``'s cart, at most once per guest cart.

        The catalog is read before the merge, so a catalog that does not answer (503) leaves
        the guest cart as it was. The merge is one store operation
        (:meth:`CartRepository.merge_guest`): of two logins racing with one token, one merges
        and the other is told ``invalid``, and a failure part way loses and doubles nothing.
        Each line follows :func:`~shopkit_server.cart.models.merge_line`.
        """
        token_hash = hash_opaque_token(cart_token)
        found = await self._guest_store().find(token_hash, utc_now())
        account = await self.carts.get(user_id)
        guest_cart = await self.carts.get(found.id) if found is not None else Cart()
        catalog = dict(await self._catalog(account, *(i.product_id for i in guest_cart.items)))
        for attempt in range(_MERGE_ATTEMPTS):
            last = attempt == _MERGE_ATTEMPTS - 1
            try:
                lines = await self.carts.merge_guest(
                    token_hash,
                    user_id,
                    partial(_plan_merge, catalog=catalog, strict=not last),
                    now=utc_now(),
                )
            except UnpricedLines as unpriced:  # lines added since the read: ask about them too
                late = await self.products.get_products(unpriced.product_ids)
                catalog.update({key: late.get(key) for key in unpriced.product_ids})
                continue
            if lines is None:
                return CartMerge(MergeOutcome.INVALID)
            return CartMerge(MergeOutcome.MERGED, lines)
        raise AssertionError("unreachable: the last round plans without raising")

    async def sweep_guest_carts(self) -> int:
        """Delete expired guest carts (and merged ones' leftovers); how many went."""
        return await self._guest_store().sweep(utc_now())

    async def _catalog(self, cart: Cart, *extra: str, known: str | None = None) -> Catalog:
        """What the catalog says of the cart's products and ``extra`` ones (one batched read),
        leaving out ``known`` (read already by the caller)."""
        wanted = [
            pid
            for pid in dict.fromkeys([item.product_id for item in cart.items] + list(extra))
            if pid != known
        ]
        if not wanted:
            return {}
        found = await self.products.get_products(wanted)
        return {product_id: found.get(product_id) for product_id in wanted}


def _plan_merge(guest: Cart, account: Cart, catalog: Catalog, *, strict: bool) -> MergePlan:
    """The merge of ``guest`` into ``account`` (both as the store read them inside the merge),
    line by line by :func:`merge_line`, each line seeing the ones planned before it.

    ``strict``: raise :class:`UnpricedLines` for lines of products ``catalog`` was not asked
    about (else they count as no longer sold)."""
    unpriced = [i.product_id for i in guest.items if i.product_id not in catalog]
    if strict and unpriced:
        raise UnpricedLines(list(dict.fromkeys(unpriced)))
    held = {line_key(item): item.quantity for item in account.items}
    lines: list[MergedLine] = []
    adds: list[CartItem] = []
    for item in guest.items:
        product = catalog.get(item.product_id)
        variant = _variant_of(product, item) if product is not None else None
        sold = product is not None and product.is_active and variant is not None
        stock = variant.stock if sold and variant is not None and variant.is_active else None
        key = variant.id if variant is not None else line_key(item)
        current_line = account.line(line_key(item))
        current = held.get(key, current_line.quantity if current_line else 0)
        planned = merge_line(guest=item, current=current, stock=stock, lines_in_cart=len(held))
        lines.append(planned)
        if planned.added == 0 or product is None or variant is None:
            continue
        adds.append(
            CartItem(
                product_id=product.id,
                name=product.name,
                price=product.price_of(variant),
                quantity=planned.added,
                image_url=product.image_of(variant),
                variant_id=variant.id,
                sku=variant.sku,
                option_values=dict(variant.option_values),
            )
        )
        held[key] = current + planned.added
    return MergePlan(lines, adds)


def _label(product: Product, variant: Variant) -> str:
    values = " / ".join(variant.option_values.values())
    return f"{product.name} ({values})" if values else f"product {product.id}"


def _pick(product: Product, variant_id: str | None) -> Variant:
    """The variant a request names; VariantRequired / VariantNotFound when it cannot."""
    if variant_id is None:
        if len(product.variants) != 1:
            raise VariantRequired()
        variant = product.variants[0]
    else:
        found = product.variant(variant_id) if is_valid_id(variant_id) else None
        if found is None:
            raise VariantNotFound()
        variant = found
    if not variant.is_active:
        raise VariantNotFound("This variant is no longer sold.")
    return variant


def _variant_of(product: Product, line: CartItem) -> Variant | None:
    if line.variant_id is None:
        return product.variants[0] if len(product.variants) == 1 else None
    return product.variant(line.variant_id)


def _priced(cart: Cart, catalog: Catalog) -> Cart:
    """The cart with the catalog's names and prices on every line the catalog was asked about.

    A line it was not asked about (added by a concurrent request after the catalog was read)
    keeps the values it was just stored with.
    """
    items: list[CartItem] = []
    for item in cart.items:
        if item.product_id not in catalog:
            items.append(item)
            continue
        product = catalog[item.product_id]
        variant = _variant_of(product, item) if product is not None else None
        if product is None or not product.is_active or variant is None:
            items.append(replace(item, available=False))
            continue
        items.append(
            replace(
                item,
                name=product.name,
                price=product.price_of(variant),
                image_url=product.image_of(variant),
                variant_id=variant.id,
                sku=variant.sku,
                option_values=dict(variant.option_values),
                available=variant.is_active and variant.stock >= item.quantity,
            )
        )
    return replace(cart, items=items)
