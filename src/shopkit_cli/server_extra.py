"""The commands that run or write the server's store need the ``shopkit[server]`` extra."""

from __future__ import annotations

from importlib.util import find_spec

from shopkit_cli.output import fail

# The import names of what `pip install "shopkit[server]"` adds (pyproject.toml, [server]).
SERVER_MODULES = (
    "fastapi",
    "uvicorn",
    "pydantic_settings",
    "email_validator",
    "jwt",
    "bcrypt",
    "aiosqlite",
    "pymongo",
    "structlog",
    "asyncpg",
    "fastapi_offline",
    "redis",
    "stripe",
    "aiosmtplib",
    "aiohttp",
)


def require_server(command: str) -> None:
    """Exit with one line saying what to install when the server's packages are missing."""
    missing = [name for name in SERVER_MODULES if find_spec(name) is None]
    if missing:
        fail(f'{command} needs the server: pip install "shopkit[server]" (missing: {missing[0]})')
