"""Putting shopkit's services into a FastAPI app of your own.

:class:`Shop` owns the store, the peer HTTP client and the :class:`AppContext` of a set of
services, and can put them into a host app in two ways::

    shop = Shop(services=["products", "cart"])      # settings from the SHOPKIT_ environment
    app = FastAPI()
    shop.include_in(app, prefix="/shop")            # routers under the host's own prefix
    # or, as a whole sub-application with its own docs, error handlers and request log:
    shop.mount_in(app, "/shop")

Both chain the shop's lifespan onto the host's, so the store opens when the host starts and
closes when it stops. ``FastAPI(lifespan=shop.lifespan)`` composes it by hand instead. A shop
app mounted with plain ``app.mount(path, create_app(...))`` (whose lifespan Starlette never
runs) starts itself on its first request and says so once in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import structlog
from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from shopkit_server import __version__
from shopkit_server.body_limit import (
    BULK_IMPORT_PATH,
    MAX_BODY_BYTES,
    MAX_BULK_BODY_BYTES,
    BodyLimitMiddleware,
)
from shopkit_server.clock import utc_now
from shopkit_server.context import AppContext, build_context, remote_peers
from shopkit_server.deps import CONTEXT_SCOPE_KEY, OWN_APP_SCOPE_KEY
from shopkit_server.docs import install_docs
from shopkit_server.errors import install_error_handlers
from shopkit_server.http_cache import HttpCache
from shopkit_server.jwt_secret import resolve_jwt_secret
from shopkit_server.logging import RequestLogMiddleware, ensure_logging
from shopkit_server.openapi import build_openapi, install_openapi, operation_id
from shopkit_server.orders.models import IDEMPOTENCY_KEY_TTL
from shopkit_server.orders.repository import OrderRepository
from shopkit_server.paths import is_under, route_path
from shopkit_server.read_cache import CatalogReadCache
from shopkit_server.routing import ShopRouter
from shopkit_server.settings import ALL_SERVICES, ServiceName, Settings
from shopkit_server.store import Store, open_store
from shopkit_server.upstream import make_http_client
from shopkit_server.webhooks.dispatcher import Dispatcher

if TYPE_CHECKING:
    from shopkit_server.replicas.bus import ReplicaBus

log = structlog.get_logger("shopkit.app")
API_PREFIX = "/api"


# How often expired Idempotency-Keys are deleted (from the start on). A claim never pays for
# it: an expired record of the key being claimed is replaced in place.
KEY_SWEEP_SECONDS = 600.0


async def sweep_idempotency_keys(orders: OrderRepository) -> None:
    """Delete expired Idempotency-Keys now and every ``KEY_SWEEP_SECONDS``, until cancelled."""
    while True:
        try:
            swept = await orders.sweep_idempotency_keys(utc_now() - IDEMPOTENCY_KEY_TTL)
            if swept:
                log.info("idempotency_keys_swept", count=swept)
        except Exception:
            log.warning("idempotency_key_sweep_failed", exc_info=True)
        await asyncio.sleep(KEY_SWEEP_SECONDS)


def routers_for(service: ServiceName) -> tuple[APIRouter, ...]:
    """A service's public routers, to include into an app one by one: not nested in one
    router, since FastAPI walks an included router's routes again at each level of nesting
    (about a tenth of a catalog read for one level)."""
    # Imported here so a one-service process loads only its own routes.
    if service is ServiceName.AUTH:
        from shopkit_server.auth.router import router

        return (router,)
    if service is ServiceName.PRODUCTS:
        from shopkit_server.products.router import routers

        return routers
    if service is ServiceName.CART:
        from shopkit_server.cart.router import router as cart_router

        return (cart_router,)
    from shopkit_server.orders.router import router as orders_router
    from shopkit_server.payments.router import router as payments_router
    from shopkit_server.webhooks.router import router as webhooks_router

    return (orders_router, payments_router, webhooks_router)


def internal_router_for(service: ServiceName) -> APIRouter | None:
    """A service's ``/internal`` routes (service tokens only), if it has any."""
    if service is ServiceName.PRODUCTS:
        from shopkit_server.products.internal_router import router
    elif service is ServiceName.CART:
        from shopkit_server.cart.internal_router import router
    else:
        return None
    return router


# How often expired guest carts are deleted.
GUEST_CART_SWEEP_SECONDS = 3600.0


async def _sweep_guest_carts(ctx: AppContext) -> None:
    while True:
        try:
            swept = await ctx.cart.sweep_guest_carts()
            if swept:
                log.info("guest_carts_swept", count=swept)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a store hiccup: try again next round
            log.warning("guest_cart_sweep_failed", error=type(exc).__name__)
        await asyncio.sleep(GUEST_CART_SWEEP_SECONDS)


class Health(BaseModel):
    status: str
    service: str
    version: str
    database: str


class NotStarted(RuntimeError):
    """The shop's context was asked for before its store was opened."""


class Shop:
    """Services over one store, their context, and the ways to serve them.

    ``store`` and ``http`` may be handed in (tests, the demo loader); the shop then leaves
    closing them to the caller. Otherwise it opens the store from ``settings`` on start and,
    only when some peer is called over HTTP, one pooled client.
    """

    def __init__(
        self,
        services: Iterable[ServiceName | str] = ALL_SERVICES,
        settings: Settings | None = None,
        *,
        store: Store | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.services = tuple(dict.fromkeys(ServiceName(s) for s in services))
        if not self.services:
            raise ValueError("a shop needs at least one service")
        self.all_in_one = set(self.services) == set(ALL_SERVICES)
        self.name = "shopkit" if self.all_in_one else "+".join(s.value for s in self.services)
        # Resolved now, not on start, so a missing secret stops `serve` before it binds.
        self._jwt_secret = resolve_jwt_secret(self.settings, all_in_one=self.all_in_one)
        self._given_store = store
        self._given_http = http
        self._ctx: AppContext | None = None
        self._opened_store: Store | None = None
        self._own_http: httpx.AsyncClient | None = None
        self._sweeper: asyncio.Future[None] | None = None
        self.bus: ReplicaBus | None = None  # with SHOPKIT_REDIS_URL, while started
        self._holders = 0
        self._lazy = False
        self._lock: asyncio.Lock | None = None
        self._apps: list[FastAPI] = []
        self._background: list[asyncio.Task[None]] = []
        self.dispatcher: Dispatcher | None = None
        self._cart_sweeper: asyncio.Task[None] | None = None
        ensure_logging()

    # -- life -----------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._ctx is not None

    @property
    def ctx(self) -> AppContext:
        if self._ctx is None:
            raise NotStarted(
                "shopkit is not started: run its lifespan (FastAPI(lifespan=shop.lifespan)) "
                "or use shop.include_in / shop.mount_in"
            )
        return self._ctx

    def _guard(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def start(self) -> None:
        """Open the store and build the context (nested starts share one; see :meth:`stop`)."""
        async with self._guard():
            self._holders += 1
            if self._ctx is None:
                await self._open()

    async def stop(self) -> None:
        """Undo one :meth:`start`; the last one closes what the shop opened."""
        async with self._guard():
            self._holders = max(0, self._holders - 1)
            if self._holders == 0 and not self._lazy and self._ctx is not None:
                await self._close()

    async def ensure_started(self) -> None:
        """Start on first use when no lifespan did (a mounted app's lifespan never runs)."""
        if self._ctx is not None:
            return
        async with self._guard():
            if self._ctx is None:
                await self._open()
                self._lazy = True
                log.warning(
                    "started_on_first_request",
                    service=self.name,
                    hint="no lifespan started shopkit; use shop.mount_in(app, path) or "
                    "FastAPI(lifespan=shop.lifespan) so the store also closes on shutdown",
                )

    @asynccontextmanager
    async def lifespan(self, app: Any = None) -> AsyncIterator[None]:
        """The shop's lifespan: ``FastAPI(lifespan=shop.lifespan)`` or inside your own."""
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def _open(self) -> None:
        store = self._given_store or await open_store(self.settings)
        if self._given_store is None:
            self._opened_store = store
        peers = remote_peers(self.settings, self.services)
        client = self._given_http
        if client is None and peers:
            client = self._own_http = make_http_client(self.settings.upstream_timeout)
        settings = self.settings
        try:
            if settings.redis_url:
                from shopkit_server.replicas.bus import ReplicaBus

                self.bus = ReplicaBus(
                    settings.redis_url,
                    settings.redis_prefix,
                    timeout=settings.redis_timeout_seconds,
                )
            ctx = build_context(
                settings,
                store,
                self._jwt_secret,
                services=self.services,
                http=client,
                bus=self.bus,
            )
            if self.bus is not None:
                await self.bus.start()
        except BaseException:
            await self._close()
            raise
        ctx.mail.start()
        if ServiceName.CART in self.services:
            self._cart_sweeper = asyncio.get_running_loop().create_task(_sweep_guest_carts(ctx))
        self._ctx = ctx
        for app in self._apps:
            app.state.ctx = ctx
        if ServiceName.ORDERS in self.services:
            self._sweeper = asyncio.ensure_future(sweep_idempotency_keys(store.orders))
        if settings.background_tasks and {ServiceName.ORDERS, ServiceName.PRODUCTS} & set(
            self.services
        ):
            self._start_background(ctx)
        log.info(
            "started",
            services=[s.value for s in self.services],
            store=store.backend,
            peers_over_http=dict(peers.items()),
            replicas_share="redis" if self.bus is not None else "nothing (in-process state)",
            mail=ctx.mail.mailer.name,
        )
        if ctx.mail.mailer.name == "console":
            log.warning(
                "mail_goes_to_log",
                hint="no SHOPKIT_SMTP_URL: password-reset and verification mails (tokens "
                "included) are written to this log instead of being sent",
            )

    def _start_background(self, ctx: AppContext) -> None:
        """For the life of the shop: the webhook dispatcher wherever events are written (the
        orders and products services: a products service on a database of its own delivers its
        ``product.out_of_stock``), and the payment sweeper with the orders service. Several
        dispatchers on one database are safe: deliveries are claimed under a lease."""
        self.dispatcher = Dispatcher(ctx.store.webhooks, self.settings)
        self._background = [
            asyncio.create_task(self.dispatcher.run(), name="shopkit-webhooks"),
        ]
        if ServiceName.ORDERS in self.services:
            self._background.append(
                asyncio.create_task(sweep_payments(ctx), name="shopkit-payments")
            )

    async def _close(self) -> None:
        ctx, self._ctx = self._ctx, None
        background, self._background = self._background, []
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.dispatcher is not None:
            await self.dispatcher.aclose()
            self.dispatcher = None
        for attribute in ("_sweeper", "_cart_sweeper"):
            sweeper = getattr(self, attribute)
            setattr(self, attribute, None)
            if sweeper is not None:
                sweeper.cancel()
                await asyncio.gather(sweeper, return_exceptions=True)
        if ctx is not None:
            await ctx.mail.stop()
            await ctx.payments.aclose()
        self._lazy = False
        own_http, self._own_http = self._own_http, None
        opened, self._opened_store = self._opened_store, None
        bus, self.bus = self.bus, None
        try:
            if bus is not None:
                await bus.stop()
        finally:
            try:
                if own_http is not None:
                    await own_http.aclose()
            finally:
                if opened is not None:
                    await opened.close()

    # -- serving --------------------------------------------------------------------------

    async def health(self) -> JSONResponse:
        """Liveness and store reachability (503 when the database does not answer)."""
        database = "ok"
        try:
            await self.ctx.store.ping()
        except Exception as exc:  # any failure to answer is "degraded"; say why in the log only
            log.warning("health_store_unavailable", error=type(exc).__name__)
            database = "unavailable"
        body: dict[str, Any] = {
            "status": "ok" if database == "ok" else "degraded",
            "service": self.name,
            "version": __version__,
            "database": database,
        }
        return JSONResponse(body, status_code=200 if database == "ok" else 503)

    def include_in(self, app: FastAPI, *, prefix: str = "") -> None:
        """Add the services' routes to ``app`` under ``prefix``, ``{prefix}/health`` too, and
        chain the shop's lifespan onto the app's.

        Errors keep shopkit's ``{"detail", "code"}`` bodies (the routes render them
        themselves); the host's own routes and handlers are left alone.
        """
        prefix = _clean_prefix(prefix)
        before = len(app.router.routes)
        for service in self.services:
            # The shop's stable operation ids (list_products, checkout...) in the host's document.
            for router in routers_for(service):
                app.include_router(router, prefix=prefix, generate_unique_id_function=operation_id)
            internal = internal_router_for(service)
            if internal is not None:
                app.include_router(internal, prefix=prefix)

        async def get_health(_: None = Depends(self.ensure_started)) -> JSONResponse:
            return await self.health()

        app.add_api_route(
            f"{prefix}/health",
            get_health,
            methods=["GET"],
            tags=["health"],
            generate_unique_id_function=operation_id,
        )
        shop_routes = list(app.router.routes[before:])
        health_paths = frozenset({f"{prefix}/health"})
        self._add_middleware(app, prefix, health_paths=health_paths)
        if prefix:
            # The shop's own document and offline docs under its prefix; the host's /docs and
            # /openapi.json stay the host's.
            self._add_docs(app, prefix, shop_routes)
        app.add_middleware(
            HttpCache,
            catalog_prefixes=self._catalog_prefixes(prefix),
            under=prefix,
            exclude=health_paths,
        )
        # Outermost: every request below the prefix gets the shop's context (started first).
        app.add_middleware(_StartOnFirstRequest, shop=self, under=prefix)
        compose_lifespan(app, self.lifespan)

    def mount_in(self, app: FastAPI, path: str) -> FastAPI:
        """Mount the shop's own app at ``path`` and chain its lifespan onto ``app``'s."""
        sub = self.create_app()
        app.mount(_clean_prefix(path), sub)
        compose_lifespan(app, self.lifespan)
        return sub

    def _add_middleware(
        self, app: FastAPI, prefix: str, *, health_paths: frozenset[str], own: bool = False
    ) -> None:
        """The body cap and the catalog read cache, for this shop's routes under ``prefix``
        (the whole app when ``own``: the shop's own app, where internal routes sit outside it).
        """
        # Inside CORS and the request log: a 413 carries CORS headers and is logged with its id.
        app.add_middleware(
            BodyLimitMiddleware,
            default=MAX_BODY_BYTES,
            paths={f"{prefix}{BULK_IMPORT_PATH}": MAX_BULK_BODY_BYTES},
            under="" if own else prefix,
        )
        # Only in the shop's own app: in a host app a cache hit would answer before the host's
        # own dependencies (an API key, say) ran, and host middleware inside it could add
        # per-caller headers. Included routes still get ETags and 304s (HttpCache).
        cached = ServiceName.PRODUCTS in self.services and self.settings.catalog_cache_seconds > 0
        if own and cached:
            app.add_middleware(
                CatalogReadCache,
                prefixes=(f"{prefix}/products", f"{prefix}/categories"),
                exclude=health_paths,  # health is never served from a cache
                items=f"{prefix}/products/",  # one product's read: that product's version
                ttl=self.settings.catalog_cache_seconds,
                grace=self.settings.catalog_cache_grace_seconds,
            )

    def _catalog_prefixes(self, prefix: str) -> tuple[str, ...]:
        if ServiceName.PRODUCTS not in self.services:
            return ()
        return (f"{prefix}/products", f"{prefix}/categories")

    def _add_docs(self, app: FastAPI, prefix: str, routes: list[Any]) -> None:
        """``{prefix}/openapi.json`` (the shop's routes only, built by shopkit_server.openapi)
        and Swagger UI / ReDoc for it at ``{prefix}/docs`` and ``{prefix}/redoc``."""
        probe = HttpCache(app, catalog_prefixes=self._catalog_prefixes(prefix))
        document: dict[str, Any] = {}

        async def shop_openapi() -> JSONResponse:
            if not document:
                built = build_openapi(
                    app, cacheable=lambda path: probe.max_age(path) is not None, routes=routes
                )
                built["info"] = {
                    "title": "shopkit",
                    "version": __version__,
                    "description": "An e-commerce backend: auth, products, cart and orders.",
                }
                document.update(built)
            return JSONResponse(document)

        app.add_api_route(
            f"{prefix}/openapi.json", shop_openapi, methods=["GET"], include_in_schema=False
        )
        install_docs(app, openapi_url=f"{prefix}/openapi.json", prefix=prefix, title="shopkit")

    def create_app(self) -> FastAPI:
        """The shop as an app of its own (what :func:`shopkit_server.app.create_app` builds)."""
        prefix = API_PREFIX if self.all_in_one else ""
        app = FastAPI(
            title="shopkit" if self.all_in_one else f"shopkit {self.name}",
            version=__version__,
            description="An e-commerce backend: auth, products, cart and orders.",
            lifespan=self.lifespan,
            docs_url=None,  # served from the package below, no CDN (shopkit_server.docs)
            redoc_url=None,
            generate_unique_id_function=operation_id,
        )
        install_error_handlers(app)
        # Before the routers: "/api/products/health" must not reach "/api/products/{product_id}".
        health_paths = ["/health"]
        if self.all_in_one:  # the paths the gateway serves (deploy/nginx.conf), answered here too
            health_paths += [f"{API_PREFIX}/health"]
            health_paths += [f"{API_PREFIX}/{service.value}/health" for service in self.services]
        # One router of plain paths: every request not for a health path passes it over at once.
        health = ShopRouter(route_class=APIRoute)
        for path in health_paths:
            health.add_api_route(
                path,
                self.health,
                methods=["GET"],
                tags=["health"],
                name="get_health",
                response_model=Health,
                responses={503: {"model": Health, "description": "The database does not answer"}},
                summary="Health",
                include_in_schema=path == "/health",
            )
        app.include_router(health)
        for service in self.services:
            for router in routers_for(service):
                app.include_router(router, prefix=prefix)
            internal = internal_router_for(service)
            if internal is not None:
                # Service-to-service routes: never under /api, never routed by the gateway.
                app.include_router(internal)
        install_docs(app)  # after the services: no request for them is tried against these
        self._add_middleware(app, prefix, health_paths=frozenset(health_paths), own=True)
        if self.settings.cors_origins:
            app.add_middleware(
                CORSMiddleware,
                allow_origins=self.settings.cors_origins,
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=["X-Request-ID"],
            )
        catalog_prefixes = self._catalog_prefixes(prefix)
        app.add_middleware(
            HttpCache, catalog_prefixes=catalog_prefixes, exclude=frozenset(health_paths)
        )
        app.add_middleware(RequestLogMiddleware)
        app.add_middleware(_StartOnFirstRequest, shop=self, own=True)  # outermost of ours
        probe = HttpCache(app, catalog_prefixes=catalog_prefixes, exclude=frozenset(health_paths))
        install_openapi(app, cacheable=lambda path: probe.max_age(path) is not None)
        if self._ctx is not None:
            app.state.ctx = self._ctx
        self._apps.append(app)
        return app


async def sweep_payments(ctx: AppContext) -> None:
    """Cancel orders left unpaid past their time (stock released); retry failed refunds."""
    timeout = timedelta(minutes=ctx.settings.payment_timeout_minutes)
    while True:
        try:
            now = utc_now()
            await ctx.orders.expire_unpaid(now, timeout)
            await ctx.payments.refund_due(now)
        except Exception:
            log.exception("payment_sweep_failed")
        await asyncio.sleep(ctx.settings.payment_sweep_seconds)


class _StartOnFirstRequest:
    """Hands every request the shop's context, starting the shop first if no lifespan did."""

    def __init__(self, app: ASGIApp, *, shop: Shop, under: str = "", own: bool = False) -> None:
        self.app = app
        self.shop = shop
        self.under = under  # only requests below this path (routes included in a host app)
        self.own = own  # the shop's own app: no host dependencies can guard its routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and (
            not self.under or is_under(route_path(scope), self.under)
        ):
            shop = self.shop
            if not shop.started:  # no coroutine to await on every request once started
                await shop.ensure_started()
            scope[CONTEXT_SCOPE_KEY] = shop.ctx
            if self.own:
                scope[OWN_APP_SCOPE_KEY] = True
        await self.app(scope, receive, send)


def compose_lifespan(app: FastAPI, inner: Any) -> None:
    """Run ``inner(app)`` around ``app``'s own lifespan (its state passes through)."""
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def both(host: Any) -> AsyncIterator[Any]:
        shop_life: AbstractAsyncContextManager[Any] = inner(host)
        async with shop_life, outer(host) as state:
            yield state

    app.router.lifespan_context = both


def _clean_prefix(prefix: str) -> str:
    prefix = prefix.strip()
    if prefix in ("", "/"):
        return ""
    if not prefix.startswith("/"):
        prefix = "/" + prefix
    return prefix.rstrip("/")
