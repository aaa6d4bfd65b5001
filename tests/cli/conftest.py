"""Drive the real ``shopkit`` command (Typer's CliRunner) against the real app, in process.

The CLI runs each command with its own ``asyncio.run``, so the runner goes to a worker thread
(``asyncio.to_thread``). The app, its store and its lifespan stay on the test's loop, where the
fixtures built them: :class:`AppLoopTransport` hands every request the CLI sends over to that
loop and the buffered answer back, exactly like a server in another process would. Nothing is
shared between the two loops but bytes, so there is no cross-loop future or lock to go wrong.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI
from typer.testing import CliRunner, Result

from shopkit_cli import session
from shopkit_cli.main import app as cli_app
from shopkit_server.security import Role
from tests.conftest import PASSWORD, MakeUser

BASE_URL = "http://test/api"


@pytest.fixture
def backend() -> str:
    """The CLI talks HTTP; one store is enough (the store contract runs both elsewhere)."""
    return "sqlite"


class AppLoopTransport(httpx.AsyncBaseTransport):
    """An ASGI transport that runs the app on ``loop``, whichever loop sends the request."""

    def __init__(self, app: FastAPI, loop: asyncio.AbstractEventLoop) -> None:
        # A crash in the app is a 500 answer, as a real server would give, not an exception
        # raised inside the CLI.
        self._asgi = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._loop = loop

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        future = asyncio.run_coroutine_threadsafe(self._on_app_loop(request), self._loop)
        return await asyncio.wrap_future(future)

    async def _on_app_loop(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        body = await response.aread()  # decoded: say so, or the client would gunzip it again
        headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in ("content-encoding", "content-length")
        ]
        return httpx.Response(response.status_code, headers=headers, content=body)


@dataclass
class Cli:
    """``await cli("products", "list", "--json")``: one invocation, its exit code and output."""

    runner: CliRunner
    config_dir: Path
    requests: list[httpx.Request]

    async def __call__(self, *args: str, input: str | None = None) -> Result:
        return await asyncio.to_thread(self.invoke, *args, input=input)

    def invoke(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(cli_app, list(args), input=input, catch_exceptions=True)

    @property
    def credentials(self) -> Path:
        return self.config_dir / "shopkit" / "credentials.json"

    def writes(self) -> list[str]:
        """The non-GET requests sent so far, as ``METHOD /path``."""
        return [f"{r.method} {r.url.path}" for r in self.requests if r.method != "GET"]


@pytest.fixture
def quiet_server_logs() -> Iterator[None]:
    """Server access logs go nowhere while a CliRunner owns sys.stdout (they would land in
    the command's captured output); the previous structlog setup comes back afterwards."""
    previous = structlog.get_config()
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(file=open(os.devnull, "w")),  # noqa: SIM115
        cache_logger_on_first_use=False,
    )
    yield
    structlog.configure(**previous)


@pytest.fixture
async def cli(
    app: FastAPI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    quiet_server_logs: None,
) -> AsyncIterator[Cli]:
    loop = asyncio.get_running_loop()
    requests: list[httpx.Request] = []

    def factory() -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=AppLoopTransport(app, loop),
            base_url=BASE_URL,
            event_hooks={"request": [_record(requests)]},
        )

    monkeypatch.setattr(session, "http_client_factory", factory)
    config_dir = tmp_path / "xdg-config"
    for name in (
        "SHOPKIT_BASE_URL",
        "SHOPKIT_ACCESS_TOKEN",
        "SHOPKIT_PROFILE",
        "SHOPKIT_CONFIG_DIR",
        "SHOPKIT_DEBUG",
        "FORCE_COLOR",
        "TTY_COMPATIBLE",
        "NO_COLOR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_dir))
    monkeypatch.setenv("SHOPKIT_BASE_URL", BASE_URL)
    yield Cli(runner=CliRunner(), config_dir=config_dir, requests=requests)


def _record(into: list[httpx.Request]) -> Any:
    async def hook(request: httpx.Request) -> None:
        into.append(request)

    return hook


@dataclass
class Admin:
    email: str
    password: str


@pytest.fixture
async def logged_in(cli: Cli, make_user: MakeUser) -> Admin:
    """An admin account, logged in through ``shopkit login`` (profile ``default``)."""
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    await make_user(role=Role.ADMIN, email=email, name="Admin")
    result = await cli("login", "--email", email, "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    return Admin(email=email, password=PASSWORD)


def one_line_error(result: Result) -> str:
    """The stderr of a failed command: exactly one line, no traceback."""
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert lines[0].startswith("error: ")
    return lines[0]
