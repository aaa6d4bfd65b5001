"""HTTP caching and compression, as one pure ASGI middleware in front of the app.

- **Catalog GETs** (``/products...``, ``/categories...``) answered 200 get a strong ``ETag``
  (a hash of the body, the same whether it came from the read cache or the database) and
  ``Cache-Control: public, max-age=...`` (short for lists and searches, longer for one product
  or category), with ``Vary: Authorization, Accept-Encoding``. A request whose
  ``If-None-Match`` names the current ETag gets ``304 Not Modified`` without a body.
- A catalog GET that carries a token, and every other response (cart, orders, auth, errors),
  gets ``Cache-Control: private, no-store``: nothing that carries a user is kept by a cache.
- **gzip** for any whole (unstreamed) body of at least :data:`GZIP_MIN_BYTES` when the client
  sends ``Accept-Encoding: gzip``; the ETag of a compressed body ends in ``-gzip`` (a strong
  validator differs per content coding), and either form matches in ``If-None-Match``.
"""

from __future__ import annotations

import gzip
import hashlib
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopkit_server.paths import is_under, route_path

GZIP_MIN_BYTES = 1024
LIST_MAX_AGE = 10  # seconds: lists and searches change with every write to the catalog
ITEM_MAX_AGE = 60  # one product or category
PRIVATE = "private, no-store"
ASSETS = ("/docs-assets/", f"public, max-age={24 * 3600}")  # Swagger UI / ReDoc files
_LISTS = ("", "/", "/search", "/featured")
_COMPRESSIBLE = (b"application/json", b"text/", b"application/javascript")

# Documented on every cacheable 200 and 304 (shopkit_server.openapi).
CACHE_HEADERS: dict[str, Any] = {
    "ETag": {
        "description": "Strong validator of the body; send it back as `If-None-Match`",
        "required": True,
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": f"`public, max-age={LIST_MAX_AGE}` for lists and searches, "
        f"`public, max-age={ITEM_MAX_AGE}` for one item, `{PRIVATE}` with a token",
        "required": True,
        "schema": {"type": "string"},
    },
}


def _accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            quality = params.strip().lower()
            return quality not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _etag_matches(header: str, tag: str) -> bool:
    """Weak comparison (RFC 9110, 13.1.2), also across our ``-gzip`` suffix."""
    if header.strip() == "*":
        return True
    core = tag.strip('"')
    for candidate in header.split(","):
        value = candidate.strip().removeprefix("W/").strip('"').removesuffix("-gzip")
        if value == core:
            return True
    return False


Raw = list[tuple[bytes, bytes]]


def _get(raw: Raw, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower case, as ASGI has them), as Starlette's
    ``Headers.get`` finds it."""
    for key, value in raw:
        if key == name:
            return value
    return None


def _set(raw: Raw, name: bytes, value: bytes) -> None:
    """Set header ``name`` in place as Starlette's ``MutableHeaders.__setitem__`` does: the
    first one takes the value, any later ones go; appended when there is none."""
    found = [index for index, (key, _) in enumerate(raw) if key == name]
    if not found:
        raw.append((name, value))
        return
    for index in reversed(found[1:]):
        del raw[index]
    raw[found[0]] = (name, value)


class HttpCache:
    """``under`` limits it to paths below a prefix (shopkit's routes included in a host app);
    ``exclude`` names paths under a catalog prefix that are never cacheable (health checks)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        catalog_prefixes: tuple[str, ...],
        under: str = "",
        exclude: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.catalog_prefixes = catalog_prefixes
        self.under = under
        self.exclude = exclude
        self.assets = f"{under}{ASSETS[0]}"
        # (prefix, prefix + "/") as is_under matches them, worked out once.
        self._catalog = [
            (prefix.rstrip("/"), prefix.rstrip("/") + "/") for prefix in catalog_prefixes
        ]

    def max_age(self, path: str) -> int | None:
        """Seconds a public cache may keep a 200 of ``path``; None when not a catalog path."""
        if path in self.exclude:
            return None
        for prefix, below in self._catalog:
            if path.startswith(below) or path == prefix:
                return LIST_MAX_AGE if path[len(prefix) :] in _LISTS else ITEM_MAX_AGE
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = route_path(scope)  # below a mount point, the shop's own paths
        if self.under and not is_under(path, self.under):
            await self.app(scope, receive, send)
            return
        if path.startswith(self.assets):
            await self.app(scope, receive, self._assets(send))
            return
        # One pass over the request's headers for the three this needs (the first of each,
        # as Starlette's Headers.get finds it).
        with_token = False
        accept_encoding: bytes | None = None
        if_none_match_raw: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                with_token = True
            elif name == b"accept-encoding":
                if accept_encoding is None:
                    accept_encoding = value
            elif name == b"if-none-match" and if_none_match_raw is None:
                if_none_match_raw = value
        max_age = self.max_age(path) if scope["method"] == "GET" else None
        gzip_ok = accept_encoding is not None and _accepts_gzip(accept_encoding.decode("latin-1"))
        if max_age is None and not gzip_ok:
            # Nothing to hash, compare or compress: only the default Cache-Control to add.
            await self.app(scope, receive, _private_by_default(send))
            return
        if_none_match = None if if_none_match_raw is None else if_none_match_raw.decode("latin-1")
        start: Message | None = None

        async def wrapped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if start is None:
                await send(message)
                return
            held, start = start, None
            if message["type"] != "http.response.body" or message.get("more_body", False):
                # A stream, or a file by ``pathsend``: sent on as it comes, never hashed,
                # compressed or made public (its whole body is not known here), with the
                # default Cache-Control.
                await _private_by_default(send)(held)
                await send(message)
                return
            body: bytes = message.get("body", b"")
            headers: Raw = list(held.get("headers", ()))
            await self._finish(
                held, headers, body, send, max_age, with_token, gzip_ok, if_none_match
            )

        await self.app(scope, receive, wrapped)

    @staticmethod
    def _assets(send: Send) -> Send:
        async def with_cache_control(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers: Raw = list(message.get("headers", ()))
                _set(headers, b"cache-control", _ASSETS_BYTES)
                message = {**message, "headers": headers}
            await send(message)

        return with_cache_control

    async def _finish(
        self,
        start: Message,
        headers: Raw,
        body: bytes,
        send: Send,
        max_age: int | None,
        with_token: bool,
        gzip_ok: bool,
        if_none_match: str | None = None,
    ) -> None:
        status: int = start["status"]
        etag: bytes | None = None
        # One pass over the reply's headers: which of those this sets are there already.
        present = set()
        for name, _ in headers:
            if name in _TOUCHED:
                present.add(name)
        if max_age is not None and status == 200:
            etag = b'"' + hashlib.blake2b(body, digest_size=16).hexdigest().encode() + b'"'
            control = _PRIVATE_BYTES if with_token else _public(max_age)
            if b"cache-control" in present:
                _set(headers, b"cache-control", control)
            else:
                headers.append((b"cache-control", control))
            if b"vary" in present:
                _vary(headers, _VARY_CATALOG)
            else:
                headers.append((b"vary", _VARY_CATALOG_BYTES))
        elif b"cache-control" not in present:
            headers.append((b"cache-control", _PRIVATE_BYTES))
        compress = (
            gzip_ok
            and len(body) >= GZIP_MIN_BYTES
            and b"content-encoding" not in present
            and (_get(headers, b"content-type") or b"").startswith(_COMPRESSIBLE)
        )
        if etag is not None:
            tag = etag[:-1] + b'-gzip"' if compress else etag
            if b"etag" in present:
                _set(headers, b"etag", tag)
            else:
                headers.append((b"etag", tag))
            if if_none_match is not None and _etag_matches(if_none_match, etag.decode()):
                kept = [(name, value) for name, value in headers if name in _KEPT_ON_304]
                await send({**start, "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return
        if compress:
            body = gzip.compress(body, compresslevel=6, mtime=0)
            _set(headers, b"content-encoding", b"gzip")
            _set(headers, b"content-length", str(len(body)).encode())
            _vary(headers, _VARY_GZIP)
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _private_by_default(send: Send) -> Send:
    """``send`` with ``Cache-Control: private, no-store`` added to a response without one."""

    async def with_private(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = message.get("headers", [])
            if all(name.lower() != b"cache-control" for name, _ in headers):
                message = {**message, "headers": [*headers, (b"cache-control", _PRIVATE_BYTES)]}
        await send(message)

    return with_private


_PRIVATE_BYTES = PRIVATE.encode()
_ASSETS_BYTES = ASSETS[1].encode()
_KEPT_ON_304 = (b"etag", b"cache-control", b"vary", b"x-request-id")
_PUBLIC = {age: f"public, max-age={age}".encode() for age in (LIST_MAX_AGE, ITEM_MAX_AGE)}
_VARY_CATALOG = ("Authorization", "Accept-Encoding")
_VARY_GZIP = ("Accept-Encoding",)
_VARY_CATALOG_BYTES = ", ".join(_VARY_CATALOG).encode()
# The reply headers _finish sets or reads for its decisions.
_TOUCHED = frozenset((b"cache-control", b"vary", b"etag", b"content-encoding"))


def _public(max_age: int) -> bytes:
    return _PUBLIC.get(max_age) or f"public, max-age={max_age}".encode()


def _vary(headers: Raw, names: tuple[str, ...]) -> None:
    """Add ``names`` to ``Vary``, keeping what is there (CORS's ``Origin``) and never twice."""
    current = _get(headers, b"vary")
    if current is None:
        _set(headers, b"vary", ", ".join(names).encode())
        return
    present = [part.strip() for part in current.decode("latin-1").split(",") if part.strip()]
    known = {part.lower() for part in present}
    present += [name for name in names if name.lower() not in known]
    _set(headers, b"vary", ", ".join(present).encode("latin-1"))
