"""The complete purchase flow of shopkit's original design, through the SDK.

Start a shop with the demo catalog, then run this in another terminal:

    uv run shopkit serve --demo
    uv run python examples/quickstart.py

It registers a fresh customer, browses and searches the catalog, fills a cart, checks out with a
shipping address and prints the order. With an admin's credentials in the environment it also
moves the order along (create one with `uv run shopkit users create-admin`):

    SHOPKIT_ADMIN_EMAIL=admin@example.com SHOPKIT_ADMIN_PASSWORD=... \
        uv run python examples/quickstart.py

`SHOPKIT_BASE_URL` points it at another shop (default http://localhost:8000/api, which is also
the nginx gateway's address); `QUICKSTART_SEARCH` changes what it searches for.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

import shopkit
from shopkit.types import Address, Order, Product

ADDRESS = Address(
    full_name="John Doe",
    address_line1="123 Main St",
    city="Karachi",
    postal_code="75500",
    country="PK",
    phone="+92 300 1234567",
)


async def purchase(
    shop: shopkit.AsyncShopClient,
    admin: shopkit.AsyncShopClient | None = None,
    search: str = "headphones",
) -> Order:
    """Register, browse, search, add to cart, check out; an admin, if given, ships the order."""
    # 1. Register a fresh customer: the client keeps the tokens and sends them from now on.
    email = f"quickstart-{uuid.uuid4().hex[:8]}@example.com"
    account = await shop.auth.register(email=email, password=uuid.uuid4().hex, name="Quick Start")
    print(f"Registered {account.user.email} (id {account.user.id})")

    # 2. Browse: the category tree, then the featured products.
    tree = await shop.categories.list(tree=True)
    print("Categories: " + ", ".join(_tree_line(c) for c in tree))
    featured = await shop.products.featured(page_size=5)
    print(f"Featured ({featured.total}):")
    for product in featured.items:
        print(f"  {product.name:<40} {product.price:>10}")

    # 3. Search, falling back to the cheapest product in stock.
    found = await shop.products.search(search, in_stock=True, page_size=5)
    print(f"Search {search!r}: {found.total} match(es)")
    pick: Product | None = found.items[0] if found.items else None
    if pick is None:
        cheapest = await shop.products.list(in_stock=True, sort="price_asc", page_size=1)
        if not cheapest.items:
            raise SystemExit("The catalog has nothing in stock: start the shop with --demo.")
        pick = cheapest.items[0]

    # 4. Add to the cart.
    cart = await shop.cart.add_item(pick.id, quantity=min(2, pick.stock))
    print(f"Cart: {cart.total_items} item(s), subtotal {cart.subtotal}")

    # 5. Check out. orders.create() sends an Idempotency-Key, so its retries never order twice.
    order = await shop.orders.create(shipping_address=ADDRESS)
    print(f"\nOrder {order.id} ({order.status})")
    for item in order.items:
        print(f"  {item.quantity} x {item.name:<36} {item.price:>10} = {item.item_total:>10}")
    print(f"  {'subtotal':<41} {order.subtotal:>23}")
    print(f"  {'shipping':<41} {order.shipping_cost:>23}")
    print(f"  {'tax':<41} {order.tax:>23}")
    print(f"  {'total':<41} {order.total:>23}")
    print(f"  ship to {order.shipping_address.full_name}, {order.shipping_address.city}")

    # 6. An admin confirms and ships it.
    if admin is not None:
        for status in ("confirmed", "processing", "shipped"):
            order = await admin.orders.update_status(order.id, status=status)
        print("Status history: " + " -> ".join(h.status for h in order.status_history))

    # The customer sees it in their history.
    mine = await shop.orders.get(order.id)
    print(f"Your order is {mine.status}.")
    return mine


def _tree_line(category: shopkit.types.Category) -> str:
    if not category.children:
        return category.name
    return f"{category.name} ({', '.join(_tree_line(c) for c in category.children)})"


async def main() -> int:
    base_url = os.environ.get("SHOPKIT_BASE_URL") or shopkit.DEFAULT_BASE_URL
    admin_email = os.environ.get("SHOPKIT_ADMIN_EMAIL")
    admin_password = os.environ.get("SHOPKIT_ADMIN_PASSWORD")
    search = os.environ.get("QUICKSTART_SEARCH", "headphones")
    try:
        async with shopkit.AsyncShopClient(base_url=base_url) as shop:
            health = await shop.health()
            print(f"Shop at {base_url}: {health.status} (version {health.version})")
            if admin_email and admin_password:
                async with shopkit.AsyncShopClient(base_url=base_url) as admin:
                    await admin.auth.login(email=admin_email, password=admin_password)
                    await purchase(shop, admin, search)
            else:
                await purchase(shop, None, search)
    except shopkit.APIConnectionError as exc:
        print(
            f"{exc}\nIs the shop running? Start it with: uv run shopkit serve --demo",
            file=sys.stderr,
        )
        return 1
    except shopkit.APIStatusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
