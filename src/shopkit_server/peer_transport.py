"""The transport under peer calls: aiohttp's connection pool, under httpx's client API or bare.

A service apart calls its peers for most requests it serves (a checkout: cart claim, stock
reserve-and-read, cart finish). Through httpx's own transport (httpcore) those calls were most
of the orders service's CPU: the pool checks every idle connection with a socket poll on each
request, and the HTTP/1.1 machinery is pure Python. aiohttp keeps its pool in the event loop's
own protocol callbacks and parses replies in C. Tests hand a service an ``httpx.AsyncClient``
routed to in-memory apps, so :class:`PeerTransport` is an httpx transport: errors are mapped onto
httpx's exception classes, timeouts from httpx's per-request timeout, nothing is redirected,
decompressed or kept in a cookie jar. httpx's client layers around it (building the request,
merging URLs, headers and cookies, the response object) still cost more per call than the pool
itself, so :class:`shopkit_server.upstream.Upstream` calls :meth:`PeerTransport.call` directly
when its client is the process-wide one, with the same errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import aiohttp
import httpx

# Below uvicorn's keep-alive timeout (5 s): a connection is never reused just as the server
# closes it for being idle.
KEEPALIVE_SECONDS = 4.0


def mapped_error(exc: BaseException, request: httpx.Request | None) -> httpx.TransportError:
    """The httpx exception for an aiohttp (or asyncio timeout) failure of ``request``."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, TimeoutError):  # ServerTimeoutError, SocketTimeoutError, asyncio's
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message, request=request)
    return httpx.ReadError(message, request=request)  # payload, OS and other connection errors


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise mapped_error(exc, self._request) from exc

    async def aclose(self) -> None:
        self._response.release()  # back to the pool when read to the end, else closed


class PeerTransport(httpx.AsyncBaseTransport):
    """An ``httpx`` transport over one ``aiohttp.ClientSession`` of ``connections`` connections
    (opened on the first request, inside the running loop)."""

    def __init__(self, *, connections: int) -> None:
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def call(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None,
        budget: float,
    ) -> tuple[int, bytes]:
        """Send one request and read its reply whole: ``(status, body)``, the body decoded by
        its ``Content-Encoding`` as httpx would; failures raise the httpx errors of
        :func:`mapped_error`. ``budget`` (seconds) bounds each phase as httpx's per-request
        timeout does."""
        session = self._open()
        try:
            async with session.request(
                method,
                url,
                headers=headers,
                data=content,
                allow_redirects=False,
                auto_decompress=True,
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=budget, sock_connect=budget, sock_read=budget
                ),
            ) as response:
                return response.status, await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise mapped_error(exc, None) from exc

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._connections, keepalive_timeout=KEEPALIVE_SECONDS
                ),
                auto_decompress=False,  # httpx decodes by the reply's Content-Encoding (call()
                # asks aiohttp to, per request)
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._open()
        timeout = request.extensions.get("timeout", {})
        await request.aread()  # peer bodies are small JSON documents, read whole
        try:
            response = await session.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=request.content or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise mapped_error(exc, request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_Body(response, request),
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
