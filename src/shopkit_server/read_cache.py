"""A read cache for the public catalog: the hot path of a shop.

Catalog reads (``GET /products...``, ``GET /categories...``) are the same for every caller, so
their 200 answers are kept, as bytes, keyed by path and query string, and served again without
routing, validation, a database trip or serialisation.

Versions. Every write to products, stock or categories through this process bumps the catalog
version after it commits (see ``products/version.py``; with ``SHOPKIT_REDIS_URL`` every write is
published and every process bumps its version on receipt). A request reads the version once,
when it arrives, before any data is read; everything it is answered with was read at that
version: an entry or a fill tagged with it, whose read began after the version was seen, so
after every write that had bumped it. A request that follows a write through this process sees
the bumped version, so it is never answered with anything read before that write: **a process
never serves a read older than its own last write.**

Grains. A single product's read (``GET /products/{id}``, under ``items``) is tagged with that
product's version (:meth:`CatalogVersion.of_product`), which only a write touching that product
(or a catalog-wide one) moves; every other read with the catalog's :attr:`~CatalogVersion.value`,
which every write moves. So an order's stock change or an edit of product X drops the cached
reads of X and every list and search, and the cached reads of other products stay.

Expiry. An entry is fresh for ``SHOPKIT_CATALOG_CACHE_SECONDS`` (default 2; ``0`` turns caching
off): the bound on staleness when *another* process writes the same store (several products
replicas without Redis, or while a subscription is down).

The exact serving rule, for a request that saw version ``V``:

1. an entry at ``V`` younger than the TTL is served;
2. an entry at ``V`` past the TTL but younger than TTL + ``SHOPKIT_CATALOG_CACHE_GRACE_SECONDS``
   (default 1) is served *only while another request refreshes that key at* ``V``
   (stale-while-revalidate). It is stale only against other processes' writes, never against
   this one's: a version bump makes every older entry unservable at once, grace or not;
3. otherwise, if a request is already filling the key at ``V``, this one waits for that fill
   (at most ``wait`` seconds, 5) and is answered with its 200. Concurrent misses thus run the
   handler once. A fill at another version is never joined: after a bump, the first request
   starts a fill of its own;
4. otherwise this request fills the key itself (and others may wait for it). Only a complete
   200 is kept and shared. When the fill fails, is cancelled or answers anything else (a 404, a
   500), its waiters are not given that answer: they look again, the first becomes the new
   filler and the rest wait for it; after two such fills, or when the wait runs out, a request
   runs the handler on its own. No request waits forever or gets another's error.

An older fill that ends after a newer one never replaces the newer entry. So the staleness
bound across processes is TTL + grace; within a process, none.

Admin reads (``include_inactive``) always go through. A request with a bearer token is served
from the cache only when the token is a valid access token, so a bad token is still a 401.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopkit_server.deps import CONTEXT_SCOPE_KEY
from shopkit_server.ids import is_valid_id
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


@dataclass(eq=False)
class _Fill:
    """One request computing a key's answer at one catalog version; others may wait for it."""

    version: int
    done: asyncio.Event = field(default_factory=asyncio.Event)
    entry: _Entry | None = None  # the 200 it produced, once done; None: nothing to share
    waiters: int = 0


# How many failed fills a waiting request sits through before it computes its own answer.
_MAX_WAITS = 2


class CatalogReadCache:
    """Pure ASGI middleware in front of the product routes."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        prefixes: tuple[str, ...],
        ttl: float,
        grace: float = 0.0,
        wait: float = 5.0,
        exclude: frozenset[str] = frozenset(),
        items: str | None = None,
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
        # "<prefix>/products/": a path of this plus one id is a single product's read.
        self.items = items
        self.ttl = ttl
        self.grace = grace  # how long past the TTL an entry may be served while one refreshes
        self.wait = wait  # longest wait for another request's fill before computing alone
        self.max_entries = max_entries
        # Bodies are kept in memory: bound their total, so query strings crafted to miss the
        # cache (junk parameters, page_size=100) cannot grow the process without limit.
        self.max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[tuple[str, bytes], _Entry] = OrderedDict()
        self._fills: dict[tuple[str, bytes], _Fill] = {}

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
        # Read once, before any data, and never again for this request: every answer below
        # was read (or is being read) at this version, see the module docstring.
        version = self._version(ctx, route_path(scope))
        waits = 0
        while True:
            now = time.monotonic()
            entry = self._entries.get(key)
            running = self._fills.get(key)
            # A fill at another version is not this request's: older, it may miss a write;
            # newer (a request that came after a bump), it stays registered for its own.
            fill = running if running is not None and running.version == version else None
            if entry is not None and entry.version == version:
                age = now - entry.stored_at
                if age < self.ttl or (fill is not None and age < self.ttl + self.grace):
                    # Fresh, or expired but current and within the grace while one refreshes.
                    self._entries.move_to_end(key)
                    await _send_entry(send, entry)
                    return
            if fill is None:
                register = running is None or running.version < version
                await self._fill(scope, receive, send, key, version, now, register=register)
                return
            if waits == _MAX_WAITS:
                break
            waits += 1
            fill.waiters += 1
            try:
                await asyncio.wait_for(fill.done.wait(), self.wait)
            except TimeoutError:
                break
            finally:
                fill.waiters -= 1
            if fill.entry is not None:
                await _send_entry(send, fill.entry)
                return
            # The fill failed, was cancelled or answered something not shared (a 404, a 500):
            # look again; the first waiter to get here takes over, the others wait for it.
        await self._fill(scope, receive, send, key, version, time.monotonic(), register=False)

    async def _fill(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        key: tuple[str, bytes],
        version: int,
        now: float,
        *,
        register: bool,
    ) -> None:
        """Run the app for this request; keep (and share) its answer when it is a whole 200."""
        fill = _Fill(version)
        if register:
            self._fills[key] = fill
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

        try:
            await self.app(scope, receive, capture)
            if status == 200 and complete:
                fill.entry = _Entry(version, now, headers, b"".join(chunks))
                self._store(key, fill.entry)
        finally:
            # Whatever happened (an error, a cancelled request), the waiters wake up.
            if self._fills.get(key) is fill:
                del self._fills[key]
            fill.done.set()

    def _store(self, key: tuple[str, bytes], entry: _Entry) -> None:
        if len(entry.body) > self.max_bytes // 16:
            return
        old = self._entries.get(key)
        if old is not None and old.version > entry.version:
            return  # a fill that started after a write finished first: keep its answer
        if old is not None:
            del self._entries[key]
            self._bytes -= len(old.body)
        self._entries[key] = entry
        self._bytes += len(entry.body)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted.body)

    def _version(self, ctx: AppContext, path: str) -> int:
        catalog = ctx.products.version
        if self.items is not None and path.startswith(self.items):
            product_id = path[len(self.items) :]
            if is_valid_id(product_id):  # one segment, an id: not /search, not deeper paths
                return catalog.of_product(product_id)
        return catalog.value

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


async def _send_entry(send: Send, entry: _Entry) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
    await send({"type": "http.response.body", "body": entry.body})
