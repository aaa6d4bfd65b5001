"""Structured logs: JSON lines in production, readable colours on a terminal.

One line per request with its id (``X-Request-ID`` is taken from the caller when it sends a sane
one, so a gateway's id follows the request through every service), method, path, status and
duration in milliseconds.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import sys
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars, reset_contextvars

from shopkit_server import log_lines
from shopkit_server.errors import INTERNAL_ERROR_BODY

REQUEST_ID_HEADER = "x-request-id"
# Ids we accept from callers: short and printable, so a client cannot inject log lines.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

access_log = structlog.get_logger("shopkit.access")
error_log = structlog.get_logger("shopkit.errors")
_INTERNAL_ERROR = json.dumps(INTERNAL_ERROR_BODY).encode()
_ACCESS_LOGGER = logging.getLogger("shopkit.access")
_ACCESS_LOGGER_NAME = log_lines.json_str(_ACCESS_LOGGER.name)  # as the line writes it

# Request ids: 64 random bits drawn once per process, then a counter (32 hex digits in all,
# like the uuid4 hex they replace, unique across processes, for a fraction of the cost).
_ID_PREFIX = os.urandom(8).hex()
_id_counter = itertools.count(int.from_bytes(os.urandom(4), "big"))


# structlog's context variable for a bound ``request_id`` (one per key for the life of the
# process; the token bind_contextvars hands back names it). Set directly per request, as
# bind_contextvars / unbind_contextvars would set it, for a tenth of their cost.
_bound = bind_contextvars(request_id=...)["request_id"]
reset_contextvars(request_id=_bound)
_REQUEST_ID_VAR = _bound.var


def new_request_id() -> str:
    """A fresh request id: 32 lower-case hex digits."""
    return f"{_ID_PREFIX}{next(_id_counter) & 0xFFFFFFFFFFFFFFFF:016x}"


def configure_logging(level: str = "info", json: bool | None = None) -> None:
    """Set up structlog (and route stdlib logging through the same renderer)."""
    if json is None:
        json = not sys.stderr.isatty()
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if json else _identity,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    log_lines.use_json_handler(handler if json else None)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log would duplicate ours.
    logging.getLogger("uvicorn.access").handlers[:] = []
    logging.getLogger("uvicorn.access").propagate = False
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def ensure_logging() -> None:
    """Inside someone else's process (an app embedding shopkit), leave logging to the host.

    Unconfigured, structlog prints to stdout with rich tracebacks that show every frame's
    locals: one error in a mounted app once wrote 26,664 lines. So when nobody configured
    structlog, shopkit's events go to the stdlib loggers ``shopkit.*`` as one plain line (and
    one plain traceback), through whatever handlers the host set up.
    """
    if structlog.is_configured():
        return
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            _leave_traceback_to_stdlib,
            structlog.processors.KeyValueRenderer(key_order=["event"]),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,  # a later configure() (the host's) must still apply
    )


def _leave_traceback_to_stdlib(
    logger: object, method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    # ``log.exception`` ends in stdlib's ``Logger.exception``, which attaches the traceback to
    # the record itself: rendering it here too would print it twice.
    event.pop("exc_info", None)
    return event


def _identity(
    logger: object, method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    return event


class RequestLogMiddleware:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or new_request_id()
        id_header = (b"x-request-id", request_id.encode())
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        response_started = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        _REQUEST_ID_VAR.set(request_id)  # bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered here rather than by Starlette's outermost handler, so the 500 still
            # carries the request id and the traceback is logged under it.
            error_log.exception("unhandled_error")
            if response_started:
                raise
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send_with_id({"type": "http.response.body", "body": _INTERNAL_ERROR})
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            if not _write_access_line(scope, status, duration_ms, request_id):
                access_log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=duration_ms,
                )
            _REQUEST_ID_VAR.set(Ellipsis)  # unbind_contextvars("request_id")


def _write_access_line(scope: Scope, status: int, duration_ms: float, request_id: str) -> bool:
    """Write the access line straight to the JSON handler; False to leave it to structlog.

    About a tenth of a catalog read's CPU went to structlog's processor chain and the stdlib
    formatter; this writes the line ``log_lines.write_json_line`` (and structlog's JSON
    renderer) writes for ``access_log.info("request", method=..., path=..., status=...,
    duration_ms=...)`` with ``request_id`` bound, made in one piece: its keys are fixed.
    """
    handler = log_lines.direct_handler(_ACCESS_LOGGER)
    if handler is None:
        return False
    if not _ACCESS_LOGGER.isEnabledFor(logging.INFO):
        return True  # filtered out, as structlog's path would have it
    duration = float.__repr__(float(duration_ms))  # finite: a measured duration
    quote = log_lines.json_str
    log_lines.write_line(
        handler,
        f'{{"method": {quote(scope["method"])}, "path": {quote(scope["path"])}, '
        f'"status": {int(status)!r}, "duration_ms": {duration}, "event": "request", '
        f'"request_id": {quote(request_id)}, "level": "info", "logger": {_ACCESS_LOGGER_NAME}, '
        f'"timestamp": "{log_lines.timestamp()}"}}',
    )
    return True


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _SAFE_REQUEST_ID.match(candidate) else None
    return None
