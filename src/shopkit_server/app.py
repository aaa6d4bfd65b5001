"""The app factory: any subset of the four services over one store.

create_app()                                   # all-in-one, every route under /api
create_app(services=[ServiceName.CART])         # one service, its own paths, no prefix
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from shopkit_server import __version__
from shopkit_server.context import build_context, remote_peers
from shopkit_server.docs import install_docs
from shopkit_server.errors import install_error_handlers
from shopkit_server.http_cache import HttpCache
from shopkit_server.jwt_secret import resolve_jwt_secret
from shopkit_server.logging import RequestLogMiddleware
from shopkit_server.openapi import install_openapi, operation_id
from shopkit_server.read_cache import CatalogReadCache
from shopkit_server.settings import ALL_SERVICES, ServiceName, Settings
from shopkit_server.store import Store, open_store
from shopkit_server.upstream import make_http_client

log = structlog.get_logger("shopkit.app")
API_PREFIX = "/api"


class Health(BaseModel):
    status: str
    service: str
    version: str
    database: str


def _router_for(service: ServiceName) -> APIRouter:
    # Imported here so a one-service process loads only its own routes.
    if service is ServiceName.AUTH:
        from shopkit_server.auth.router import router
    elif service is ServiceName.PRODUCTS:
        from shopkit_server.products.router import router
    elif service is ServiceName.CART:
        from shopkit_server.cart.router import router
    else:
        from shopkit_server.orders.router import router
    return router


def create_app(
    services: Iterable[ServiceName | str] = ALL_SERVICES,
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    http: httpx.AsyncClient | None = None,
) -> FastAPI:
    """Build the ASGI app.

    ``store`` lets a caller (tests, the demo loader) hand in a store it opened itself; the app
    then leaves closing it to that caller. ``http`` likewise: the client for calls to peer
    services (tests route it to in-memory apps); by default the app opens one pooled client
    for its life, and only when some peer is called over HTTP.
    """
    settings = settings or Settings()
    chosen = tuple(dict.fromkeys(ServiceName(s) for s in services))
    if not chosen:
        raise ValueError("create_app needs at least one service")
    all_in_one = set(chosen) == set(ALL_SERVICES)
    prefix = API_PREFIX if all_in_one else ""
    name = "shopkit" if all_in_one else "+".join(s.value for s in chosen)
    # Resolved now, not in the lifespan, so a missing secret stops `serve` before it binds.
    jwt_secret = resolve_jwt_secret(settings, all_in_one=all_in_one)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_store = store is None
        opened = store if store is not None else await open_store(settings)
        peers = remote_peers(settings, chosen)
        own_http = http is None and bool(peers)
        client = make_http_client(settings.upstream_timeout) if own_http else http
        try:
            app.state.ctx = build_context(
                settings, opened, jwt_secret, services=chosen, http=client
            )
            log.info(
                "started",
                services=[s.value for s in chosen],
                store=opened.backend,
                peers_over_http={peer.value: url for peer, url in peers.items()},
            )
            yield
        finally:
            if own_http and client is not None:
                await client.aclose()
            if own_store:
                await opened.close()

    app = FastAPI(
        title="shopkit" if all_in_one else f"shopkit {name}",
        version=__version__,
        description="An e-commerce backend: auth, products, cart and orders.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    install_error_handlers(app)
    install_docs(app)
    catalog_prefixes = (
        (f"{prefix}/products", f"{prefix}/categories") if ServiceName.PRODUCTS in chosen else ()
    )
    for service in chosen:
        app.include_router(_router_for(service), prefix=prefix)
        if service is ServiceName.PRODUCTS:
            # Service-to-service routes: never under /api, never routed by the gateway.
            from shopkit_server.products.internal_router import router as internal

            app.include_router(internal)

    async def get_health() -> JSONResponse:
        """Liveness and store reachability (503 when the database does not answer)."""
        database = "ok"
        try:
            await app.state.ctx.store.ping()
        except Exception as exc:  # any failure to answer is "degraded"; say why in the log only
            log.warning("health_store_unavailable", error=type(exc).__name__)
            database = "unavailable"
        body: dict[str, Any] = {
            "status": "ok" if database == "ok" else "degraded",
            "service": name,
            "version": __version__,
            "database": database,
        }
        return JSONResponse(body, status_code=200 if database == "ok" else 503)

    app.add_api_route(
        "/health",
        get_health,
        methods=["GET"],
        tags=["health"],
        response_model=Health,
        responses={503: {"model": Health, "description": "The database does not answer"}},
        summary="Health",
    )
    if all_in_one:
        app.add_api_route(
            f"{API_PREFIX}/health",
            get_health,
            methods=["GET"],
            tags=["health"],
            include_in_schema=False,
        )

    if ServiceName.PRODUCTS in chosen and settings.catalog_cache_seconds > 0:
        app.add_middleware(
            CatalogReadCache,
            prefixes=catalog_prefixes,
            ttl=settings.catalog_cache_seconds,
        )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(HttpCache, catalog_prefixes=catalog_prefixes)
    app.add_middleware(RequestLogMiddleware)
    probe = HttpCache(app, catalog_prefixes=catalog_prefixes)
    install_openapi(app, cacheable=lambda path: probe.max_age(path) is not None)
    return app
