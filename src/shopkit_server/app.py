"""The app factory: any subset of the four services over one store.

create_app()                                   # all-in-one, every route under /api
create_app(services=[ServiceName.CART])         # one service, its own paths, no prefix

To put services into an app of your own, see :mod:`shopkit_server.embed` (``Shop``).
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx
from fastapi import FastAPI

from shopkit_server.embed import API_PREFIX, Shop
from shopkit_server.settings import ALL_SERVICES, ServiceName, Settings
from shopkit_server.store import Store

__all__ = ["API_PREFIX", "Shop", "create_app"]


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
    for its life, and only when some peer is called over HTTP. Mounted in another app (whose
    lifespan Starlette does not run for it), the app starts on its first request.
    """
    return Shop(services, settings, store=store, http=http).create_app()
