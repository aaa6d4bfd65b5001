"""``shopkit serve``: run all four services in one process, or one of them alone."""

from __future__ import annotations

import contextlib
import errno
import gc
import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shopkit_cli.output import EXIT_INTERRUPTED, EXIT_USAGE, fail, info
from shopkit_cli.params import examples
from shopkit_cli.server_extra import require_server
from shopkit_cli.settings import load_settings

if TYPE_CHECKING:
    import socket
    from collections.abc import Coroutine, Iterator
    from typing import Any

    from shopkit_server.settings import Settings
    from shopkit_server.store import Store


EXAMPLES = examples(
    "shopkit serve --demo                 # on http://127.0.0.1:8000/api",
    "shopkit serve --host 0.0.0.0 --port 9000 --database-url sqlite:///shop.db",
    "shopkit serve --service products     # one service alone, on 8002",
)


class Service(StrEnum):
    auth = "auth"
    products = "products"
    cart = "cart"
    orders = "orders"


# The seed's ports, used when --service is given without --port.
DEFAULT_PORTS = {
    Service.auth: 8001,
    Service.products: 8002,
    Service.cart: 8003,
    Service.orders: 8004,
}


def serve(
    service: Annotated[
        Service | None, typer.Option(help="Run only this service (its own paths, no /api prefix).")
    ] = None,
    host: Annotated[
        str, typer.Option(help="Interface to bind; 0.0.0.0 for every one.")
    ] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="Port (default 8000, or the service's own 8001-8004).")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="sqlite:///path, postgresql://... or mongodb://... (else SHOPKIT_DATABASE_URL)."
        ),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Load the example catalog into an empty store first.")
    ] = False,
    demo_file: Annotated[
        Path | None, typer.Option(help="Catalog to load with --demo (default: the bundled one).")
    ] = None,
) -> None:
    """Serve the shop's REST API (Ctrl-C stops it cleanly: exit 130; SIGTERM: exit 0)."""
    require_server("shopkit serve")
    import signal

    settings = load_settings(database_url=database_url)
    if port is None:
        port = DEFAULT_PORTS[service] if service else 8000
    if not 0 < port < 65536:
        fail(f"invalid port {port}", EXIT_USAGE)
    services = [service.value] if service else ["auth", "products", "cart", "orders"]
    # The socket is bound before anything else and handed to uvicorn as is: a busy port is
    # one line and exit 1 before any banner, and nothing can take the port in between.
    sock = _bind(host, port)
    try:
        stopped_by = _run(_serve(settings, services, host, port, sock, demo, demo_file))
    except KeyboardInterrupt:  # Ctrl-C before the server installed its own handlers
        stopped_by = signal.SIGINT
    finally:
        sock.close()
    if stopped_by == signal.SIGINT:
        raise typer.Exit(EXIT_INTERRUPTED)


def _bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on host:port, or one line saying why not (exit 1)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        fail(f"cannot listen on {host}:{port}: unknown host ({exc.strerror})")
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":  # a restart may reuse a port in TIME_WAIT, never a live one
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            fail(
                f"cannot listen on {host}:{port}: the port is in use (another `shopkit serve`?); "
                "stop it or pick another with --port"
            )
        if exc.errno == errno.EACCES:
            fail(
                f"cannot listen on {host}:{port}: permission denied (ports below 1024 need "
                "privileges); pick another with --port"
            )
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    return sock


def _run(main: Coroutine[Any, Any, int | None]) -> int | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is not on Windows
        import asyncio

        return asyncio.run(main)
    else:
        return uvloop.run(main)


async def _serve(
    settings: Settings,
    services: list[str],
    host: str,
    port: int,
    sock: socket.socket,
    demo: bool,
    demo_file: Path | None,
) -> int | None:
    """Serve until a signal; the signal that stopped it (None: it ended on its own)."""
    import uvicorn

    from shopkit_server.app import create_app
    from shopkit_server.jwt_secret import MissingSecret, resolve_jwt_secret
    from shopkit_server.logging import configure_logging
    from shopkit_server.store import open_store

    configure_logging(settings.log_level, settings.log_json)
    all_in_one = len(services) == 4
    try:
        jwt_secret = resolve_jwt_secret(settings, all_in_one=all_in_one)
    except MissingSecret as exc:
        fail(str(exc), EXIT_USAGE)
    # Opened here, not in the lifespan, so an unreachable database is one clear line.
    try:
        store = await open_store(settings)
    except Exception as exc:
        fail(f"cannot open the store at {_redacted(settings.database_url)}: {_reason(exc)}")
    try:
        app = create_app(services, settings, store=store)
        if demo:
            await _load_demo(store, settings, jwt_secret, demo_file)
        shown = f"[{host}]" if ":" in host else host
        base = f"http://{shown}:{port}" + ("/api" if all_in_one else "")
        info(
            f"shopkit {'+'.join(services)} on {base} "
            f"(store: {store.backend}, docs: http://{shown}:{port}/docs)"
        )
        for line in _peer_lines(settings, services):
            info(line)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,  # our structlog setup handles uvicorn's loggers
            access_log=False,  # RequestLogMiddleware logs every request once
            proxy_headers=True,
            server_header=False,
        )
        server = _server_class()(config)
        # Everything loaded so far (modules, the app, its schemas: ~100k objects) lives as long
        # as the process: out of the collector's sight, a full collection only walks what the
        # requests made (full collections were ~8% of a bulk import's CPU, each one walking the
        # whole heap).
        gc.freeze()
        # A request's objects live until its reply: collecting every 700 new ones walked each
        # surviving object again and again (a 500-row import makes ~30,000). 20,000 made a
        # 50k-row import 10% cheaper in CPU; the young generation stays a few MB.
        gc.set_threshold(20_000, 10, 10)
        await server.serve(sockets=[sock])
        if not server.started:
            fail(f"could not serve on {host}:{port}")
        stopped_by: int | None = getattr(server, "stopped_by", None)
        return stopped_by
    finally:
        await store.close()


async def _load_demo(store: Store, settings: Settings, jwt_secret: str, path: Path | None) -> None:
    from shopkit_server.context import build_context
    from shopkit_server.demo import load_demo_catalog

    ctx = build_context(settings, store, jwt_secret)
    created = await load_demo_catalog(ctx, path)
    if created:
        info(f"demo catalog: loaded {created} products")
    else:
        info("demo catalog: the store already has products; nothing loaded")


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, but SIGINT/SIGTERM only ask it to stop.

        uvicorn re-raises the captured signal after shutdown, which would kill the process
        before ``serve`` closes the store; here the signal just ends ``serve()`` cleanly.
        """

        stopped_by: int | None = None

        def handle_exit(self, sig: int, frame: Any) -> None:
            self.stopped_by = sig
            super().handle_exit(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            import asyncio
            import signal

            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.handle_exit, sig, None)
            try:
                yield
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)

    return Server


def _peer_lines(settings: Settings, services: list[str]) -> list[str]:
    """One line per peer the served services call, saying how (the rule of ``build_context``)."""
    from shopkit_server.context import PEERS, remote_peers
    from shopkit_server.settings import ServiceName

    served = [ServiceName(s) for s in services]
    remote = remote_peers(settings, served)
    peers = dict.fromkeys(p for s in served for p in PEERS.get(s, ()) if p not in served)
    lines = []
    for peer in peers:
        url = remote.get(peer)
        how = (
            f"over HTTP at {url}"
            if url
            else f"in process (same store; set SHOPKIT_{peer.value.upper()}_URL to call it "
            "over HTTP)"
        )
        lines.append(f"  calls {peer.value} {how}")
    return lines


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]
