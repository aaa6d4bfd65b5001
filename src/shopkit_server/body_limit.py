"""Request-body caps, enforced in the app itself (``shopkit serve`` has no gateway in front).

The limits are the gateway's (deploy/nginx.conf, kept equal by a test): 2 MiB for any body, 24
MiB for a bulk import. A declared ``Content-Length`` over the cap is refused before a byte is
read; a body without one (chunked) is counted as it streams and refused at the chunk that
crosses the cap. Either way the answer is ``413 {"code": "payload_too_large"}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopkit_server.paths import is_under, route_path

MAX_BODY_BYTES = 2 * 1024 * 1024  # nginx: client_max_body_size 2m
MAX_BULK_BODY_BYTES = 24 * 1024 * 1024  # nginx: client_max_body_size 24m on /api/products/bulk
BULK_IMPORT_PATH = "/products/bulk"  # under the app's prefix (/api when all-in-one)

TOO_LARGE = "The request body is too large."


class PayloadTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes its cap (the handlers render it)."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail=TOO_LARGE)


def _error(status: int, detail: str, code: str) -> tuple[Message, Message]:
    body = json.dumps({"detail": detail, "code": code}).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),  # the unread body must not be taken for a next request
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class BodyLimitMiddleware:
    """Pure ASGI middleware: caps every request body, per path where a route needs more.

    ``under`` limits it to paths below a prefix (shopkit's routes included in a host app: the
    host's own routes keep whatever limits the host sets).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        default: int = MAX_BODY_BYTES,
        paths: Mapping[str, int] | None = None,
        under: str = "",
    ) -> None:
        self.app = app
        self.default = default
        self.paths = dict(paths or {})
        self.under = under

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        if self.under and not is_under(path, self.under):
            await self.app(scope, receive, send)
            return
        declared, chunked = _framing(scope)
        if not chunked:
            if declared is None:
                if scope.get("http_version") in _HTTP1:
                    # HTTP/1.x: a request with neither Content-Length nor Transfer-Encoding
                    # has no body (RFC 9112, 6.3), and the server delivers none.
                    await self.app(scope, receive, send)
                    return
            elif 0 <= declared <= self._limit(path):
                # The server delivers no more than the declared length (h11 and httptools both
                # hold a request to its Content-Length): under the cap already, nothing to count.
                await self.app(scope, receive, send)
                return
        limit = self._limit(path)
        if declared is not None and (declared < 0 or declared > limit):
            if declared < 0:
                start, body = _error(400, "Invalid Content-Length header.", "bad_request")
            else:
                start, body = _error(413, TOO_LARGE, "payload_too_large")
            await send(start)
            await send(body)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge()
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except PayloadTooLarge:
            # Normally the app's handlers answer it; this catches a read outside a route.
            if started:
                raise
            start, body = _error(413, TOO_LARGE, "payload_too_large")
            await send(start)
            await send(body)

    def _limit(self, path: str) -> int:
        return self.paths.get(path.rstrip("/") or "/", self.default) if self.paths else self.default


_HTTP1 = ("1.1", "1.0")


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """The request's declared ``Content-Length`` (-1 when it is not a number; None when absent)
    and whether it carries a ``Transfer-Encoding``, from one pass over its headers."""
    declared: int | None = None
    chunked = False
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            if declared is None:
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked
