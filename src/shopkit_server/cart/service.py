"""Cart service logic (no HTTP, no database driver).

Prices: a cart line keeps the name, price and image the catalog had when it was last added to,
but every cart the service returns is refreshed from the catalog in one batched read, so the
customer always sees current prices (the ones checkout will charge) and lines the catalog no
longer sells are flagged ``available=False`` instead of silently vanishing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from shopkit_server.cart.clients import ProductsClient
from shopkit_server.cart.errors import CartItemNotFound, LineQuantityLimit
from shopkit_server.cart.models import MAX_LINE_QUANTITY, Cart, CartItem, LineLimitExceeded
from shopkit_server.cart.repository import CartRepository
from shopkit_server.clock import utc_now
from shopkit_server.ids import is_valid_id
from shopkit_server.products.errors import InsufficientStock, ProductNotFound
from shopkit_server.products.models import StockLine


class CartService:
    def __init__(self, *, carts: CartRepository, products: ProductsClient) -> None:
        self.carts = carts
        self.products = products

    async def get_cart(self, user_id: str) -> Cart:
        """The user's cart with current catalog names and prices."""
        return await self._refresh(await self.carts.get(user_id))

    async def get_stored_cart(self, user_id: str) -> Cart:
        """The cart as stored, without asking the catalog (checkout re-reads products itself)."""
        return await self.carts.get(user_id)

    async def add_item(self, user_id: str, product_id: str, quantity: int) -> Cart:
        if not is_valid_id(product_id):
            raise ProductNotFound()
        product = await self.products.get_product(product_id)
        item = CartItem(
            product_id=product.id,
            name=product.name,
            price=product.price,
            quantity=quantity,
            image_url=product.image_url,
        )
        # The repository checks the limit and adds in one atomic step: a concurrent add to the
        # same line cannot slip between a read of the current quantity and the write.
        limit = min(MAX_LINE_QUANTITY, product.stock)
        try:
            cart = await self.carts.add_item(user_id, item, max_quantity=limit, now=utc_now())
        except LineLimitExceeded as exc:
            if exc.current_quantity + quantity > product.stock:
                raise InsufficientStock(
                    [product.id],
                    f"Only {product.stock} of product {product.id} in stock; "
                    f"your cart already holds {exc.current_quantity}.",
                ) from None
            raise LineQuantityLimit() from None
        return await self._refresh(cart)

    async def set_quantity(self, user_id: str, product_id: str, quantity: int) -> Cart:
        """Set a line's quantity; 0 removes it. The line must be in the cart."""
        if not is_valid_id(product_id):
            raise CartItemNotFound()
        if quantity > 0:
            if (await self.carts.get(user_id)).line(product_id) is None:
                raise CartItemNotFound()
            product = await self.products.get_product(product_id)
            if quantity > product.stock:
                raise InsufficientStock(
                    [product.id], f"Only {product.stock} of product {product.id} in stock."
                )
        cart = await self.carts.set_quantity(user_id, product_id, quantity, now=utc_now())
        if cart is None:
            raise CartItemNotFound()
        return await self._refresh(cart)

    async def remove_item(self, user_id: str, product_id: str) -> Cart:
        """Remove a line; removing a line that is not there is not an error."""
        if not is_valid_id(product_id):
            return await self.get_cart(user_id)
        return await self._refresh(await self.carts.remove_item(user_id, product_id, now=utc_now()))

    async def clear(self, user_id: str) -> None:
        await self.carts.clear(user_id)

    async def remove_ordered(self, user_id: str, lines: Sequence[StockLine]) -> None:
        """Take an order's lines out of the cart, keeping anything added meanwhile."""
        await self.carts.remove_ordered(user_id, lines, now=utc_now())

    async def _refresh(self, cart: Cart) -> Cart:
        if not cart.items:
            return cart
        current = await self.products.get_products([item.product_id for item in cart.items])
        items: list[CartItem] = []
        for item in cart.items:
            product = current.get(item.product_id)
            if product is None or not product.is_active:
                items.append(replace(item, available=False))
                continue
            items.append(
                replace(
                    item,
                    name=product.name,
                    price=product.price,
                    image_url=product.image_url,
                    available=product.stock >= item.quantity,
                )
            )
        return replace(cart, items=items)
