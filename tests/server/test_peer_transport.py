"""The peer-call transport (httpx over aiohttp) against real sockets: replies, reuse, failures."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from shopkit_server.peer_transport import PeerTransport
from shopkit_server.upstream import make_http_client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return head[0], headers, body


@asynccontextmanager
async def _server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A server on a free port; yields its base URL and a list counting accepted connections."""
    accepted: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", accepted
    finally:
        server.close()
        await server.wait_closed()


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:  # keep-alive: answer requests until the client hangs up
        line, headers, body = await _read_request(reader)
        reply = json.dumps({"line": line, "headers": headers, "body": body.decode()}).encode()
        writer.write(
            b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Peer: yes\r\n"
            + f"Content-Length: {len(reply)}\r\n\r\n".encode()
            + reply
        )
        await writer.drain()


async def test_a_request_and_its_reply_cross_whole_and_the_connection_is_reused() -> None:
    async with _server(_echo) as (base, accepted), make_http_client(5.0) as client:
        first = await client.post(f"{base}/internal/x?a=1", json={"n": 1})
        second = await client.get(f"{base}/internal/y", headers={"X-Request-ID": "r1"})
    assert first.status_code == 201 and first.reason_phrase == "Created"
    assert first.headers["x-peer"] == "yes"
    echoed = first.json()
    assert echoed["line"] == "POST /internal/x?a=1 HTTP/1.1"
    assert json.loads(echoed["body"]) == {"n": 1}
    assert echoed["headers"]["content-type"] == "application/json"
    assert echoed["headers"]["accept-encoding"] == "identity"  # peers answer uncompressed
    assert echoed["headers"]["user-agent"] == "shopkit-service"
    assert second.json()["headers"]["x-request-id"] == "r1"
    assert len(accepted) == 1  # one kept-alive connection served both


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with httpx.AsyncClient(transport=PeerTransport(connections=2)) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/x")


async def test_a_peer_that_hangs_up_without_answering_is_a_transport_error() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)

    client = httpx.AsyncClient(transport=PeerTransport(connections=2))
    async with _server(hang_up) as (base, _), client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(f"{base}/x", json={})


async def test_a_peer_that_does_not_answer_in_time_is_a_timeout() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(5)

    client = httpx.AsyncClient(transport=PeerTransport(connections=2))
    async with _server(stall) as (base, _), client:
        with pytest.raises(httpx.TimeoutException):
            await client.get(f"{base}/x", timeout=0.2)


async def test_a_body_cut_short_is_a_read_error() -> None:
    async def short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial":')
        await writer.drain()

    client = httpx.AsyncClient(transport=PeerTransport(connections=2))
    async with _server(short) as (base, _), client:
        with pytest.raises(httpx.TransportError):
            await client.get(f"{base}/x")


async def test_closing_the_client_closes_its_pool_and_a_new_request_opens_one() -> None:
    async with _server(_echo) as (base, accepted):
        transport = PeerTransport(connections=2)
        client = httpx.AsyncClient(transport=transport)
        assert (await client.get(f"{base}/a")).status_code == 201
        await transport.aclose()
        assert (await client.get(f"{base}/b")).status_code == 201
        await client.aclose()
    assert len(accepted) == 2
