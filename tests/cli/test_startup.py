"""``shopkit --help`` stays fast: no server, web framework, store driver, SDK or httpx, and
no Rich, Markdown or Pygments (the plain help needs none; issue #11 measured them at 230 ms)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Not pydantic: Typer itself (>= 0.25) builds its parameter converters with it.
HEAVY = (
    "shopkit_server",
    "fastapi",
    "starlette",
    "uvicorn",
    "aiosqlite",
    "pymongo",
    "httpx",
    "shopkit",
    "structlog",
    "bcrypt",
    "jwt",
    "rich",
    "markdown_it",
    "pygments",
    "asyncio",
)

PROBE = """
import json, sys
from shopkit_cli.main import app
try:
    app(sys.argv[1:], prog_name="shopkit")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["products", "--help"],
        ["seed", "--help"],
        ["orders", "advance", "--help"],
        ["users", "create-admin", "--help"],
        ["serve", "--help"],
        ["api", "--help"],
        ["profiles", "list", "--help"],
    ],
)
def test_help_imports_no_heavy_module(args: list[str]) -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60
    )
    report = json.loads(run.stderr.strip().splitlines()[-1])
    assert report["code"] == 0
    loaded = {name.split(".")[0] for name in report["modules"]}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert "Usage: shopkit" in run.stdout


def test_usage_errors_exit_2_without_a_traceback() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "shopkit_cli.main", "products", "list", "--page", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "--page" in run.stderr


def test_the_help_documents_the_exit_codes() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "shopkit_cli.main", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": ""},
    )
    text = " ".join(run.stdout.split())
    assert "Exit status: 0 success, 1 error" in text
    assert "2 usage error" in text
