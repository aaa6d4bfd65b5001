"""Everything a request handler may need, built once per process in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from shopkit_server.auth.service import AuthService
from shopkit_server.cart.clients import InProcessProductsClient
from shopkit_server.cart.service import CartService
from shopkit_server.orders.clients import InProcessCartClient, InProcessStockClient
from shopkit_server.orders.service import OrderService
from shopkit_server.products.service import ProductService
from shopkit_server.security import PasswordHasher, TokenCodec
from shopkit_server.settings import Settings
from shopkit_server.store.base import Store


@dataclass
class AppContext:
    settings: Settings
    store: Store
    tokens: TokenCodec
    passwords: PasswordHasher
    auth: AuthService
    products: ProductService
    cart: CartService
    orders: OrderService


def build_context(settings: Settings, store: Store, jwt_secret: str) -> AppContext:
    """Wire the services over one store, calling each other in process.

    Every process builds all four (they are cheap); the app only mounts the routers it serves.
    """
    tokens = TokenCodec(
        jwt_secret,
        access_minutes=settings.access_token_minutes,
        refresh_days=settings.refresh_token_days,
    )
    passwords = PasswordHasher(rounds=settings.bcrypt_rounds)
    auth = AuthService(
        users=store.users, refresh_tokens=store.refresh_tokens, tokens=tokens, passwords=passwords
    )
    products = ProductService(products=store.products, categories=store.categories)
    products_client = InProcessProductsClient(products)
    cart = CartService(carts=store.carts, products=products_client)
    orders = OrderService(
        orders=store.orders,
        cart=InProcessCartClient(cart),
        products=products_client,
        stock=InProcessStockClient(products),
        tax_rate=settings.tax_rate,
        shipping_flat=settings.shipping_flat,
    )
    return AppContext(
        settings=settings,
        store=store,
        tokens=tokens,
        passwords=passwords,
        auth=auth,
        products=products,
        cart=cart,
        orders=orders,
    )
