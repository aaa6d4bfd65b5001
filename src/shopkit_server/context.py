"""Everything a request handler may need, built once per process in the app's lifespan.

Every process builds all four services (they are cheap) and mounts only the routers it serves.
A service calls a peer in process when the peer is mounted here too, or when no URL is set for
it (then both share the store); otherwise over HTTP (API.md, "Service to service").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
from starlette.requests import HTTPConnection

from shopkit_server.accounts import (
    AccountDirectory,
    CachingAccountDirectory,
    StoreAccountDirectory,
)
from shopkit_server.auth.addresses import AddressBook
from shopkit_server.auth.clients import CartMerger, HttpCartMerger, InProcessCartMerger
from shopkit_server.auth.recovery import AccountRecovery, RecoveryPolicy
from shopkit_server.auth.service import AuthService
from shopkit_server.auth.throttle import SignInThrottle, ThrottlePolicy
from shopkit_server.cart.clients import InProcessProductsClient, ProductsClient
from shopkit_server.cart.clients_http import HttpProductsClient
from shopkit_server.cart.service import CartService
from shopkit_server.client_address import IPNetwork, client_address, parse_networks
from shopkit_server.mail.queue import MailQueue, open_mailer
from shopkit_server.orders.clients import (
    CartClient,
    InProcessCartClient,
    InProcessStockClient,
    StockClient,
)
from shopkit_server.orders.clients_http import HttpCartClient, HttpStockClient
from shopkit_server.orders.service import OneStoreCheckout, OrderService
from shopkit_server.payments.provider import PaymentProvider
from shopkit_server.payments.service import PaymentService
from shopkit_server.products.service import ProductService
from shopkit_server.revocations import RevokedFamilies
from shopkit_server.security import PasswordHasher, TokenCodec
from shopkit_server.settings import ALL_SERVICES, ServiceName, Settings
from shopkit_server.store.base import Store
from shopkit_server.throttle import MemoryThrottleStore, ThrottleStore
from shopkit_server.upstream import ServiceToken, Upstream
from shopkit_server.webhooks.service import WebhookService

if TYPE_CHECKING:
    from shopkit_server.replicas.bus import ReplicaBus

# Which peers each service calls; products calls nobody.
PEERS: dict[ServiceName, tuple[ServiceName, ...]] = {
    ServiceName.AUTH: (ServiceName.CART,),  # the guest-cart merge at login
    ServiceName.CART: (ServiceName.PRODUCTS,),
    ServiceName.ORDERS: (ServiceName.CART, ServiceName.PRODUCTS),
}


@dataclass
class AppContext:
    settings: Settings
    store: Store
    tokens: TokenCodec
    passwords: PasswordHasher
    accounts: AccountDirectory
    auth: AuthService
    products: ProductService
    cart: CartService
    orders: OrderService
    payments: PaymentService
    webhooks: WebhookService
    recovery: AccountRecovery
    addresses: AddressBook
    mail: MailQueue
    trusted_proxies: tuple[IPNetwork, ...] = ()

    def client_of(self, connection: HTTPConnection) -> str:
        """The caller's address: the peer's, or the one a trusted proxy forwarded."""
        return client_address(connection.scope, self.trusted_proxies)


def remote_peers(settings: Settings, services: Iterable[ServiceName]) -> dict[ServiceName, str]:
    """The peers ``services`` call over HTTP (not served here, URL set), with their URLs."""
    mounted = set(services)
    remote: dict[ServiceName, str] = {}
    for service in mounted:
        for peer in PEERS.get(service, ()):
            url = settings.peer_url(peer)
            if peer not in mounted and url:
                remote[peer] = url
    return remote


def build_context(
    settings: Settings,
    store: Store,
    jwt_secret: str,
    *,
    services: Iterable[ServiceName] = ALL_SERVICES,
    http: httpx.AsyncClient | None = None,
    throttle_store: ThrottleStore | None = None,
    bus: ReplicaBus | None = None,
) -> AppContext:
    """Wire the services over one store; peers in ``remote_peers`` are called through ``http``.

    With a ``bus`` (``SHOPKIT_REDIS_URL``) throttling counts in Redis, and catalog writes,
    account changes and revoked families are published to, and heard from, every process.
    """
    services = tuple(services)
    remote = remote_peers(settings, services)
    if remote and http is None:
        raise ValueError("calling peers over HTTP needs an httpx client")
    tokens = TokenCodec(
        jwt_secret,
        access_minutes=settings.access_token_minutes,
        refresh_days=settings.refresh_token_days,
    )
    passwords = PasswordHasher(
        rounds=settings.bcrypt_rounds,
        concurrency=settings.password_hash_concurrency or None,
        queue=settings.password_hash_queue,
        per_client=settings.password_checks_per_address,
        nice=settings.password_hash_nice,
    )
    store_accounts = StoreAccountDirectory(store.users)
    accounts: AccountDirectory = store_accounts
    caching: CachingAccountDirectory | None = None
    if bus is not None:
        from shopkit_server.replicas.throttle import FailoverThrottleStore, RedisThrottleStore

        throttle_store = throttle_store or FailoverThrottleStore(
            RedisThrottleStore(bus.redis, bus.prefix)
        )
        caching = CachingAccountDirectory(store_accounts, lambda: bus.up)
        accounts = caching
    revoked = RevokedFamilies(tokens.refresh_ttl.total_seconds())
    throttle = SignInThrottle(
        throttle_store or MemoryThrottleStore(),
        ThrottlePolicy(
            window_seconds=settings.auth_throttle_window_seconds,
            login_per_address=settings.login_attempts_per_address,
            register_per_address=settings.register_attempts_per_address,
            failures_before_backoff=settings.login_failures_before_backoff,
            backoff_seconds=settings.login_backoff_seconds,
            backoff_max_seconds=settings.login_backoff_max_seconds,
            per_account=settings.login_attempts_per_account,
            account_window_seconds=settings.login_account_window_seconds,
        ),
    )
    mail = MailQueue(open_mailer(settings.smtp_url), sender=settings.mail_from)
    recovery = AccountRecovery(
        users=store.users,
        tokens=store.account_tokens,
        refresh_tokens=store.refresh_tokens,
        passwords=passwords,
        throttle=throttle,
        mail=mail,
        policy=RecoveryPolicy(
            base_url=settings.public_url,
            reset_ttl=timedelta(minutes=settings.password_reset_minutes),
            verification_ttl=timedelta(hours=settings.email_verification_hours),
            mails_per_hour=settings.account_mails_per_hour,
        ),
    )
    auth = AuthService(
        users=store.users,
        refresh_tokens=store.refresh_tokens,
        tokens=tokens,
        passwords=passwords,
        throttle=throttle,
        revoked=revoked,
        recovery=recovery,
    )
    peers = _Peers(settings, remote, http, tokens, caller=_caller_name(services))
    products = ProductService(products=store.products, categories=store.categories)
    if bus is not None:
        assert caching is not None
        from shopkit_server.replicas.wiring import attach

        on_change: Callable[[str], Awaitable[object]] = attach(
            bus, version=products.version, accounts=caching, revoked=revoked
        )
        auth.on_account_change = on_change
        recovery.on_account_change = on_change
    products_client = peers.products_client(products)
    cart = CartService(
        carts=store.carts,
        products=products_client,
        guests=store.guest_carts,
        guest_ttl=timedelta(days=settings.guest_cart_days),
        throttle=throttle.store,
        guest_carts_per_address=settings.guest_carts_per_address,
    )
    auth.carts = peers.cart_merger(cart)
    addresses = AddressBook(store.addresses)
    payments = PaymentService(orders=store.orders, providers=payment_providers(settings))
    cart_client = peers.cart_client(cart)
    stock_client = peers.stock_client(products)
    one_store: OneStoreCheckout | None = None
    if store.checkout is not None and not {ServiceName.CART, ServiceName.PRODUCTS} & set(remote):
        # Cart and catalog run here, on this store: a checkout is one store operation.
        one_store = OneStoreCheckout(
            store=store.checkout,
            cart=cart_client,
            products=products_client,
            stock=stock_client,
            catalog_changed=products.version.changed,
        )
    orders = OrderService(
        payments=payments,
        orders=store.orders,
        cart=cart_client,
        products=products_client,
        stock=stock_client,
        tax_rate=settings.tax_rate,
        shipping_flat=settings.shipping_flat,
        one_store=one_store,
        addresses=addresses,
        require_verified_email=settings.require_verified_email_for_checkout,
    )
    return AppContext(
        settings=settings,
        store=store,
        tokens=tokens,
        passwords=passwords,
        accounts=accounts,
        auth=auth,
        products=products,
        cart=cart,
        orders=orders,
        payments=payments,
        webhooks=WebhookService(store.webhooks, allow_private=settings.webhooks_allow_private),
        recovery=recovery,
        addresses=addresses,
        mail=mail,
        trusted_proxies=parse_networks(settings.trusted_proxies),
    )


def payment_providers(settings: Settings) -> dict[str, PaymentProvider]:
    """The providers this server's settings configure (``manual`` needs none)."""
    providers: dict[str, PaymentProvider] = {}
    if settings.stripe_secret_key:
        from shopkit_server.payments.stripe import StripeProvider

        providers["stripe"] = StripeProvider(
            secret_key=settings.stripe_secret_key,
            webhook_secret=settings.stripe_webhook_secret,
            api_base=settings.stripe_api_base,
            currency=settings.currency,
        )
    return providers


def _caller_name(services: Iterable[ServiceName]) -> str:
    return "+".join(sorted(s.value for s in services))


class _Peers:
    """Picks, per peer, the in-process client or the HTTP one."""

    def __init__(
        self,
        settings: Settings,
        remote: dict[ServiceName, str],
        http: httpx.AsyncClient | None,
        tokens: TokenCodec,
        *,
        caller: str,
    ) -> None:
        self._settings = settings
        self._remote = remote
        self._http = http
        self._token = ServiceToken(tokens, caller)

    def _upstream(self, peer: ServiceName) -> Upstream | None:
        url = self._remote.get(peer)
        if url is None or self._http is None:
            return None
        return Upstream(
            peer.value,
            url,
            self._http,
            timeout=self._settings.upstream_timeout,
            retries=self._settings.upstream_retries,
        )

    def products_client(self, products: ProductService) -> ProductsClient:
        upstream = self._upstream(ServiceName.PRODUCTS)
        if upstream is None:
            return InProcessProductsClient(products)
        return HttpProductsClient(upstream, self._token)

    def cart_client(self, cart: CartService) -> CartClient:
        upstream = self._upstream(ServiceName.CART)
        if upstream is None:
            return InProcessCartClient(cart)
        return HttpCartClient(upstream, self._token)

    def cart_merger(self, cart: CartService) -> CartMerger:
        upstream = self._upstream(ServiceName.CART)
        if upstream is None:
            return InProcessCartMerger(cart)
        return HttpCartMerger(upstream, self._token)

    def stock_client(self, products: ProductService) -> StockClient:
        upstream = self._upstream(ServiceName.PRODUCTS)
        if upstream is None:
            return InProcessStockClient(products)
        return HttpStockClient(upstream, self._token)
