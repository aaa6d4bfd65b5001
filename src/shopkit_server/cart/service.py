"""Cart service logic (no HTTP, no database driver).

Prices: a cart line keeps the name, price and image the catalog had when it was last added to,
but every cart the service returns is refreshed from the catalog in one batched read, so the
customer always sees current prices (the ones checkout will charge) and lines the catalog no
longer sells are flagged ``available=False`` instead of silently vanishing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from shopkit_server.cart.clients import ProductsClient
from shopkit_server.cart.errors import (
    CartItemNotFound,
    CartLineLimit,
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
    LineLimitExceeded,
)
from shopkit_server.cart.repository import CartRepository
from shopkit_server.clock import utc_now
from shopkit_server.ids import is_valid_id
from shopkit_server.products.errors import (
    InsufficientStock,
    ProductNotFound,
    VariantNotFound,
    VariantRequired,
)
from shopkit_server.products.models import Product, StockLine, Variant

# What the catalog said of each product asked about: None when it does not know the id.
Catalog = Mapping[str, Product | None]


class CartService:
    def __init__(self, *, carts: CartRepository, products: ProductsClient) -> None:
        self.carts = carts
        self.products = products

    async def get_cart(self, user_id: str) -> Cart:
        """The user's cart with current catalog names and prices."""
        cart = await self.carts.get(user_id)
        return _priced(cart, await self._catalog(cart))

    # Every change below asks the catalog before it writes, never after: when the product
    # service cannot be reached the answer is a 503 and nothing was changed, and a change that
    # was written is always answered with success (priced from what was read before it).

    async def add_item(
        self, user_id: str, product_id: str, quantity: int, variant_id: str | None = None
    ) -> Cart:
        """Add units of one variant; ``variant_id`` may be left out only when the product has
        a single variant (else VariantRequired). Stock and the line limit are per variant."""
        if not is_valid_id(product_id):
            raise ProductNotFound()
        catalog = await self._catalog(await self.carts.get(user_id), product_id)
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
        cart = await self.carts.set_quantity(user_id, _key(line), quantity, now=utc_now())
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
        return _priced(await self.carts.remove_item(user_id, _key(line), now=utc_now()), catalog)

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

    async def _catalog(self, cart: Cart, *extra: str) -> Catalog:
        wanted = [item.product_id for item in cart.items] + list(extra)
        if not wanted:
            return {}
        found = await self.products.get_products(wanted)
        return {product_id: found.get(product_id) for product_id in wanted}


def _key(line: CartItem) -> str:
    """What the repository finds a line by: its variant (its product for a pre-variant one)."""
    return line.variant_id or line.product_id


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
