"""A read cache for the public catalog: the hot path of a shop.

Catalog reads (``GET /products...``, ``GET /categories...``) are the same for every caller, so
their 200 answers are kept, as bytes, keyed by path and query string, and served again without
routing, validation, a database trip or serialisation. Correctness rests on two rules:

- an entry is served only while the catalog version it was read at is current (every write to
  products, stock or categories through this process bumps it, see ``products/version.py``);
- and for at most ``SHOPKIT_CATALOG_CACHE_SECONDS`` (default 2): the bound on staleness when
  *another* process writes the same store (several products replicas). ``0`` turns caching off.
  With ``SHOPKIT_REDIS_URL`` every write is published and every process bumps its version on
  receipt, so the TTL bounds staleness only while a process's subscription is down.

Admin reads (``include_inactive``) always go through. A request with a bearer token is served
from the cache only when the token is a valid access token, so a bad token is still a 401.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopkit_server.deps import CONTEXT_SCOPE_KEY
from shopkit_server.paths import is_under, route_path
from shopkit_server.security import InvalidToken, Role, TokenType

if TYPE_CHECKING:
    from shopkit_server.context import AppContext


def _context_on_scope(scope: Scope) -> AppContext | None:
    ctx: AppContext | None = scope.get(CONTEXT_SCOPE_KEY)
    return ctx


@dataclass(frozen=True)
class _Entry:
    version: int
    stored_at: float
    headers: list[tuple[bytes, bytes]]
    body: bytes


class CatalogReadCache:
    """Pure ASGI middleware in front of the product routes."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        prefixes: tuple[str, ...],
        ttl: float,
        exclude: frozenset[str] = frozenset(),
        max_entries: int = 1024,
        max_bytes: int = 32 * 1024 * 1024,
        context: Callable[[Scope], AppContext | None] | None = None,
    ) -> None:
        self.app = app
        # Where the shop's context is: on the scope inside a shop's own app, from the shop
        # itself in front of a host app's included routes (None until the shop has started).
        self._context = context or _context_on_scope
        self.prefixes = prefixes
        self.exclude = exclude  # paths under the prefixes that are never cached
        self.ttl = ttl
        self.max_entries = max_entries
        # Bodies are kept in memory: bound their total, so query strings crafted to miss the
        # cache (junk parameters, page_size=100) cannot grow the process without limit.
        self.max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[tuple[str, bytes], _Entry] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not any(is_under(route_path(scope), prefix) for prefix in self.prefixes)
            or route_path(scope) in self.exclude
            or _asks_for_inactive(scope["query_string"])
        ):
            await self.app(scope, receive, send)
            return
        ctx = self._context(scope)
        if ctx is None or not self._token_acceptable(scope, ctx):
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope["query_string"])
        version = ctx.products.version.value  # read before the data: see module docstring
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry.version == version and now - entry.stored_at < self.ttl:
            self._entries.move_to_end(key)
            await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
            await send({"type": "http.response.body", "body": entry.body})
            return
        await self._fill(scope, receive, send, key, version, now)

    async def _fill(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        key: tuple[str, bytes],
        version: int,
        now: float,
    ) -> None:
        status = 0
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        complete = False

        async def capture(message: Message) -> None:
            nonlocal status, headers, complete
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                complete = not message.get("more_body", False)
            await send(message)

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        if status != 200 or not complete or len(body) > self.max_bytes // 16:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        self._entries[key] = _Entry(version, now, headers, body)
        self._bytes += len(body)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted.body)

    @staticmethod
    def _token_acceptable(scope: Scope, ctx: AppContext) -> bool:
        """No token, or a valid customer access token; admins always go through the app."""
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer":
                    return False
                try:
                    claims = ctx.tokens.decode(token.strip(), TokenType.ACCESS)
                except InvalidToken:
                    return False
                if claims.role is not Role.CUSTOMER or claims.family in ctx.auth.revoked:
                    return False
        return True


def _asks_for_inactive(query_string: bytes) -> bool:
    """Whether the query names ``include_inactive`` in any spelling (``include%5Finactive``):
    decided on the decoded names, as the router sees them, never on the raw bytes."""
    if not query_string:
        return False
    names = {name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)}
    return "include_inactive" in names
