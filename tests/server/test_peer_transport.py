"""The peer-call transport (aiohttp, under httpx or called by Upstream directly) against real
sockets: replies, reuse, failures."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from shopkit_server.errors import UpstreamUnavailable
from shopkit_server.peer_transport import PeerTransport
from shopkit_server.upstream import PeerClient, Upstream, make_http_client

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


# Upstream over the process-wide client calls the aiohttp pool directly (not through httpx's
# client): the same requests go out and failures map to the same errors.


async def test_a_direct_peer_call_sends_what_the_client_would_and_reads_the_reply() -> None:
    async with _server(_echo) as (base, accepted), make_http_client(5.0) as client:
        upstream = Upstream("cart", f"{base}/shop", client, timeout=5.0, retries=2)
        posted = await upstream.request(
            "POST",
            "/internal/x?a=1",
            idempotent=False,
            json={"n": 1, "name": "Café"},
            headers={"Authorization": "Bearer t"},
        )
        deleted = await upstream.request("DELETE", "/internal/y", idempotent=True)
    assert posted.status_code == 201 and posted.path == "/shop/internal/x"
    echoed = upstream.json(posted)
    assert echoed["line"] == "POST /shop/internal/x?a=1 HTTP/1.1"
    assert echoed["body"] == '{"n":1,"name":"Café"}'  # compact UTF-8, as httpx's json= sends
    sent = echoed["headers"]
    assert sent["content-type"] == "application/json"
    assert sent["accept-encoding"] == "identity"
    assert sent["user-agent"] == "shopkit-service"
    assert sent["authorization"] == "Bearer t"
    gone = upstream.json(deleted)
    assert gone["body"] == "" and "content-type" not in gone["headers"]
    assert len(accepted) == 1


async def test_a_direct_peer_call_reads_a_compressed_reply_decoded() -> None:
    async def gzipped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        body = gzip.compress(b'{"ok": true}')
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()

    async with _server(gzipped) as (base, _), make_http_client(5.0) as client:
        upstream = Upstream("cart", base, client, timeout=5.0, retries=0)
        reply = await upstream.request("GET", "/x", idempotent=True)
    assert upstream.json(reply) == {"ok": True}


async def test_a_direct_peer_call_to_nothing_is_503_connection_failed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with make_http_client(5.0) as client:
        upstream = Upstream("cart", f"http://127.0.0.1:{port}", client, timeout=5.0, retries=0)
        with pytest.raises(UpstreamUnavailable, match=r"connection failed \(ConnectError\)"):
            await upstream.request("GET", "/x", idempotent=True)


async def test_a_direct_peer_call_that_stalls_is_503_timed_out() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(5)

    async with _server(stall) as (base, _), make_http_client(5.0) as client:
        upstream = Upstream("cart", base, client, timeout=0.2, retries=0)
        with pytest.raises(UpstreamUnavailable, match="timed out"):
            await upstream.request("GET", "/x", idempotent=True)


async def test_a_direct_peer_call_retries_a_503_only_when_idempotent() -> None:
    async def busy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await _read_request(reader)
            writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()

    async with _server(busy) as (base, _), make_http_client(5.0) as client:
        assert isinstance(client, PeerClient)
        upstream = Upstream("cart", base, client, timeout=5.0, retries=2)
        sent = 0
        original = client.peer.call

        async def counted(*args: Any, **kwargs: Any) -> tuple[int, bytes]:
            nonlocal sent
            sent += 1
            return await original(*args, **kwargs)

        client.peer.call = counted  # type: ignore[method-assign]
        with pytest.raises(UpstreamUnavailable, match="answered 503"):
            await upstream.request("POST", "/x", idempotent=False)
        assert sent == 1
        with pytest.raises(UpstreamUnavailable, match="answered 503"):
            await upstream.request("GET", "/x", idempotent=True)
        assert sent == 1 + 3
