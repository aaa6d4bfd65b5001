"""The access line: written directly in JSON mode, the same line structlog renders; request ids."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI

from shopkit_server import log_lines
from shopkit_server import logging as shop_logging
from shopkit_server.logging import configure_logging, new_request_id

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """configure_logging(json=True) onto a buffer; the process's logging restored after."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, structlog.get_config())
    saved_uvicorn = {
        name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate)
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
    }
    buffer = io.StringIO()
    monkeypatch.setattr("sys.stderr", buffer)
    configure_logging("info", json=True)
    try:
        yield buffer
    finally:
        root.handlers[:], level, config = saved
        root.setLevel(level)
        structlog.configure(**config)
        for name, (handlers, propagate) in saved_uvicorn.items():
            logging.getLogger(name).handlers[:] = handlers
            logging.getLogger(name).propagate = propagate
        log_lines.use_json_handler(None)


def _only_ours() -> None:
    """Take pytest's capture handlers off the root logger for this test's call phase (they
    make the direct path step aside, which the test of that below checks on its own)."""
    logging.getLogger().handlers[:] = [log_lines._json_handler]  # type: ignore[list-item]


def _lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line]


def test_the_direct_line_is_the_line_structlog_writes(json_logs: io.StringIO) -> None:
    _only_ours()
    scope = {"method": "GET", "path": '/api/caf\u00e9/"x"'}
    structlog.contextvars.bind_contextvars(request_id="rid-1")
    try:
        shop_logging.access_log.info(
            "request", method=scope["method"], path=scope["path"], status=404, duration_ms=1.5
        )
    finally:
        structlog.contextvars.unbind_contextvars("request_id")
    assert shop_logging._write_access_line(scope, 404, 1.5, "rid-1")
    by_structlog, direct = json_logs.getvalue().splitlines()
    strip = re.compile(r'"timestamp": "[^"]+"')
    assert strip.sub("T", direct) == strip.sub("T", by_structlog)
    assert re.search(r'"timestamp": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"', direct)


def test_an_event_line_is_the_line_structlog_writes(json_logs: io.StringIO) -> None:
    _only_ours()
    fields = {"order_id": 'o-\u00e9"1', "total": "10.50", "lines": 2, "paid": False, "n": None}
    structlog.contextvars.bind_contextvars(request_id="rid-2", lines="bound loses")
    try:
        structlog.get_logger("shopkit.orders").info("order_placed", **fields)
        log_lines.EventLog("shopkit.orders").info("order_placed", **fields)
    finally:
        structlog.contextvars.unbind_contextvars("request_id", "lines")
    by_structlog, direct = json_logs.getvalue().splitlines()
    strip = re.compile(r'"timestamp": "[^"]+"')
    assert strip.sub("T", direct) == strip.sub("T", by_structlog)
    assert json.loads(direct)["lines"] == 2


@pytest.mark.parametrize(
    "value",
    [
        0,
        -7,
        2**70,
        True,
        False,
        None,
        0.1,
        -0.0,
        1e-7,
        1e16,
        123456.789,
        float("nan"),
        float("inf"),
        float("-inf"),
        HTTPStatus.OK,
        'caf\u00e9 "q"\n',
    ],
)
def test_a_scalar_is_written_as_json_writes_it(value: object) -> None:
    assert log_lines.json_scalar(value) == json.dumps(value)


def test_an_event_with_a_value_that_is_not_a_scalar_goes_through_structlog(
    json_logs: io.StringIO,
) -> None:
    _only_ours()
    assert not log_lines.write_json_line(
        logging.getLogger("shopkit.orders"), "info", "e", {"ids": ["a"]}, {}
    )
    log_lines.EventLog("shopkit.orders").info("order_placed", ids=["a", "b"])
    (line,) = _lines(json_logs)
    assert line["ids"] == ["a", "b"] and line["event"] == "order_placed"


def test_another_handler_gets_the_line_through_structlog(json_logs: io.StringIO) -> None:
    _only_ours()
    extra = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(extra)
    try:
        assert not shop_logging._write_access_line({"method": "GET", "path": "/"}, 200, 1.0, "r")
    finally:
        logging.getLogger().removeHandler(extra)


def test_below_info_nothing_is_written(json_logs: io.StringIO) -> None:
    _only_ours()
    access = logging.getLogger("shopkit.access")
    level = access.level
    access.setLevel(logging.WARNING)
    try:
        assert shop_logging._write_access_line({"method": "GET", "path": "/"}, 200, 1.0, "r")
    finally:
        access.setLevel(level)
    assert json_logs.getvalue() == ""


@sqlite_only
async def test_each_request_logs_one_line_with_its_id(app: FastAPI, json_logs: io.StringIO) -> None:
    _only_ours()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        mine = await client.get("/api/products", headers={"X-Request-ID": "trace-me-9"})
        made = await client.get("/api/products")
    lines = [line for line in _lines(json_logs) if line.get("logger") == "shopkit.access"]
    assert [line["request_id"] for line in lines] == ["trace-me-9", made.headers["x-request-id"]]
    assert mine.headers["x-request-id"] == "trace-me-9"
    assert lines[0]["status"] == 200 and lines[0]["path"] == "/api/products"


def test_request_ids_are_32_hex_digits_and_unique() -> None:
    ids = {new_request_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids)


@pytest.mark.parametrize(
    "ns",
    [
        1_700_000_000_000_000_000,  # a whole second: no fraction, as isoformat writes it
        1_700_000_000_000_000_999,  # still the whole second (floored to the microsecond)
        1_700_000_000_123_456_789,
        1_700_000_001_000_001_000,  # the next second, written anew
        951_782_400_999_999_999,  # 2000-02-29
    ],
)
def test_the_timestamp_is_the_text_of_datetime_now(
    monkeypatch: pytest.MonkeyPatch, ns: int
) -> None:
    monkeypatch.setattr(log_lines.time, "time_ns", lambda: ns)
    micros = ns // 1000
    then = datetime.fromtimestamp(micros // 10**6, UTC).replace(microsecond=micros % 10**6)
    assert log_lines.timestamp() == then.isoformat().replace("+00:00", "Z")


def test_the_timestamp_reads_the_clock_datetime_now_reads() -> None:
    before = datetime.now(UTC)
    stamp = log_lines.timestamp()
    after = datetime.now(UTC)
    assert before <= datetime.fromisoformat(stamp) <= after


async def test_the_request_id_is_bound_for_the_request_and_only_for_it() -> None:
    seen: list[dict[str, object]] = []

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(structlog.contextvars.get_contextvars())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def ignore(message: dict[str, Any]) -> None:
        return None

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"x-request-id", b"r-7")]}
    await shop_logging.RequestLogMiddleware(inner)(scope, ignore, ignore)  # type: ignore[arg-type]
    assert seen == [{"request_id": "r-7"}]
    assert "request_id" not in structlog.contextvars.get_contextvars()
