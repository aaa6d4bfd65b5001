"""Log lines written straight to the JSON handler, as structlog's JSON renderer writes them.

structlog's processor chain and the stdlib formatter cost about a tenth of a catalog read's
CPU (the access line) and half of a placed order's service time (``order_placed``). When
:func:`shopkit_server.logging.configure_logging` set up JSON lines and its handler is the only
one in play, a line made of plain scalars is written here directly: same keys, order and
formatting. Anything else (a terminal, a host app's own logging, a value that is not a scalar)
goes through structlog as before. No HTTP here: services log through :class:`EventLog`.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import structlog

# A str as json.dumps writes it, quotes and all.
json_str: Callable[[str], str] = json.encoder.encode_basestring_ascii

# The handler configure_logging(json=True) set up, while it is the root logger's only one.
_json_handler: logging.StreamHandler[Any] | None = None


def use_json_handler(handler: logging.StreamHandler[Any] | None) -> None:
    """Record the JSON handler ``configure_logging`` installed (None: not JSON)."""
    global _json_handler
    _json_handler = handler


_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def write_json_line(
    logger: logging.Logger,
    level: str,
    event: str,
    fields: dict[str, Any],
    context: dict[str, Any],
) -> bool:
    """Write the line structlog's JSON renderer would write for ``logger.<level>(event,
    **fields)`` (same keys, order and formatting: the fields, ``event``, the bound context,
    ``level``, ``logger``, ``timestamp``) straight to the handler ``configure_logging(json=True)``
    set up. False (nothing written) when that handler is not the only one in play, or a value
    is not a plain scalar: then structlog's own path must serve the line.
    """
    handler = direct_handler(logger)
    if handler is None:
        return False
    if not logger.isEnabledFor(_LEVELS[level]):
        return True  # filtered out, as structlog's path would have it
    parts: list[str] = []
    for key, value in (*fields.items(), ("event", event)):
        rendered = json_scalar(value)
        if rendered is None:
            return False
        parts.append(f"{json_str(key)}: {rendered}")
    for key, value in context.items():
        if key in fields or key == "event":
            continue  # a field named like a bound value wins, as with merge_contextvars
        rendered = json_scalar(value)
        if rendered is None:
            return False
        parts.append(f"{json_str(key)}: {rendered}")
    parts.append(f'"level": {json_str(level)}, "logger": {json_str(logger.name)}')
    parts.append(f'"timestamp": "{timestamp()}"')
    write_line(handler, "{" + ", ".join(parts) + "}")
    return True


def direct_handler(logger: logging.Logger) -> logging.StreamHandler[Any] | None:
    """The JSON handler a line of ``logger`` may be written to directly, or None when that
    handler is not the only one in play (then structlog's own path must serve the line)."""
    handler = _json_handler
    if handler is None or logger.handlers:
        return None  # not JSON, or someone attached a handler of their own to this logger
    handlers = logging.root.handlers
    if len(handlers) != 1 or handlers[0] is not handler:
        return None
    return handler


# The second the last timestamp fell in, and that second written out.
_second: tuple[int, str] = (-1, "")


def timestamp() -> str:
    """Now, as structlog's ``TimeStamper(fmt="iso", utc=True)`` writes it
    (``datetime.now(UTC).isoformat()`` with ``Z`` for ``+00:00``): the same clock, floored to
    the microsecond as ``datetime.now`` floors it, with the date and time of day written once
    per second instead of once per line."""
    global _second
    seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    second, text = _second
    if seconds != second:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _second = (seconds, text)
    return f"{text}.{micros:06d}Z" if micros else f"{text}Z"


def write_line(handler: logging.StreamHandler[Any], line: str) -> None:
    """Write one finished JSON line to ``handler``'s stream, as ``StreamHandler.emit`` does
    (under the handler's lock, then flushed)."""
    with handler.lock or _NO_LOCK:
        stream = handler.stream
        stream.write(line + handler.terminator)
        stream.flush()


def json_scalar(value: object) -> str | None:
    """``value`` as ``json.dumps`` writes it, for the scalars the fast path takes; else None."""
    if isinstance(value, str):
        return json_str(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)  # what json writes for an int (an IntEnum member too)
    if isinstance(value, float) and math.isfinite(value):
        return float.__repr__(value)
    if isinstance(value, float):
        return json.dumps(value)  # NaN, Infinity, -Infinity
    return None


class EventLog:
    """A logger for shopkit's own events on hot paths (``order_placed``): the same line as
    ``structlog.get_logger(name)`` writes, but straight to the JSON handler when it is the one
    in play (see :func:`write_json_line`); otherwise (a terminal, a host app's logging, a value
    that is not a scalar) through structlog as before."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger = logging.getLogger(name)
        self._structlog = structlog.get_logger(name)

    def info(self, event: str, **fields: Any) -> None:
        if not write_json_line(
            self._logger, "info", event, fields, structlog.contextvars.get_contextvars()
        ):
            self._structlog.info(event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._structlog.warning(event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        self._structlog.error(event, **fields)

    def exception(self, event: str, **fields: Any) -> None:
        self._structlog.exception(event, **fields)


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_LOCK = _NoLock()
